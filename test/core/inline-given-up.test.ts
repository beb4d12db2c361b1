/**
 * Inline, a run given up on (its hard time limit, a revoke with terminate) cannot be stopped: its
 * body goes on until it returns. What it does after the engine ended it is no run's: its late
 * outcome and progress must not land on a later run of the same id (a Celery worker kills the
 * process, so nothing of it comes after).
 */
import { expect, it } from 'vitest'
import { Celeriac } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'

/** A promise the test opens itself. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

it('a body that outlives its hard time limit does not settle, nor report progress for, the next run of its id', async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const gates = [gate(), gate()]
  const progress: unknown[] = []
  app.events.on('task-progress', (e) => progress.push(e.meta))
  let calls = 0
  const slow = app.task('given-up.slow', { bind: true }, async (self) => {
    const n = calls++
    try {
      await self.sleep(5_000)
    } catch {
      // Its hard time limit woke it: it goes on regardless (inline cannot stop it).
      await gates[n]!.wait
    }
    self.updateState('PROGRESS', { n })
    return `run ${String(n)}`
  })
  await app.start()
  try {
    const first = await slow.applyAsync([], { taskId: 'same', timeLimit: 1_000 })
    await clock.advance(1_000)
    await expect(first.get()).rejects.toMatchObject({ name: 'TimeLimitExceeded' })
    // The id again, forgotten and sent anew: it runs (asleep) while the first body still waits.
    await first.forget()
    const second = await slow.applyAsync([], { taskId: 'same' })
    await clock.advance(10)
    expect(calls).toBe(2)
    // The first body ends now: its progress and its return belong to no run.
    gates[0]!.open()
    await clock.advance(10)
    expect(progress).toEqual([])
    expect(await second.state()).toBe('STARTED')
    await clock.runAll()
    expect(await second.get()).toBe('run 1')
    expect(progress).toEqual([{ n: 1 }])
  } finally {
    await app.stop()
  }
})
