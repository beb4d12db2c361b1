/**
 * Inline, a run given up on (its hard time limit, a revoke with terminate) cannot be stopped: its
 * body goes on until it returns. What it does after the engine ended it is no run's: its late
 * outcome and progress must not land on a later run of the same id (a Celery worker kills the
 * process, so nothing of it comes after).
 */
import { expect, it } from 'vitest'
// The Node entry: a plain `other.delay()` in a body is its child (AsyncLocalStorage).
import { Celeriac } from '../../src/index-node.js'
import type { AsyncResult, Task } from '../../src/index-node.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'

/** Sends `task` as id 'same' with a hard time limit of 1 s, and lets the limit end it. */
async function givenUpRun<R>(task: Task<[], R>, clock: VirtualClock): Promise<AsyncResult<R>> {
  const first = await task.applyAsync([], { taskId: 'same', timeLimit: 1_000 })
  await clock.advance(1_000)
  await expect(first.get()).rejects.toMatchObject({ name: 'TimeLimitExceeded' })
  return first
}

/** The id of a given-up run again, forgotten and sent anew: a second run starts while the first body goes on. */
async function sentAgain<R>(task: Task<[], R>, first: AsyncResult<R>, clock: VirtualClock): Promise<AsyncResult<R>> {
  await first.forget()
  const second = await task.applyAsync([], { taskId: 'same' })
  await clock.advance(10)
  return second
}

/** A run of `task` given up on, whose body then wakes at 5 s (its sleep's end) while no run of its id is here; then its id sent again. */
async function againAfterItsWake<R>(task: Task<[], R>, clock: VirtualClock): Promise<AsyncResult<R>> {
  const first = await givenUpRun(task, clock)
  await clock.advance(4_000)
  return sentAgain(task, first, clock)
}

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
    const first = await givenUpRun(slow, clock)
    // The second run sleeps while the first body still waits.
    const second = await sentAgain(slow, first, clock)
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

it("a body's sends after its hard time limit name it as their parent, and no later run of its id gains them as children", async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const gates = [gate()]
  const sent: Array<{ name: string; parentId: string | null; rootId: string | null }> = []
  app.events.on('task-sent', (e) => sent.push({ name: e.name, parentId: e.parentId, rootId: e.rootId }))
  const child = app.task('given-up.child', (label: string) => label)
  let calls = 0
  const slow = app.task('given-up.sender', { bind: true }, async (self) => {
    const n = calls++
    try {
      await self.sleep(5_000)
    } catch {
      // Its hard time limit ended it at 1 s; its sleep ends at 5 s, and it goes on regardless.
      await child.delay('alone')
      await gates[0]!.wait
      await child.delay('beside the next run')
    }
    return `run ${String(n)}`
  })
  await app.start()
  try {
    // Its body wakes at 5 s and sends while no run of its id is here: the send still names it.
    const second = await againAfterItsWake(slow, clock)
    expect(calls).toBe(2)
    gates[0]!.open()
    await clock.advance(10)
    await clock.runAll()
    expect(await second.get()).toBe('run 1')
    expect(sent.filter((e) => e.name === 'given-up.child')).toEqual([
      { name: 'given-up.child', parentId: 'same', rootId: 'same' },
      { name: 'given-up.child', parentId: 'same', rootId: 'same' },
    ])
    // The second run sent nothing: the first body's child is not its.
    expect((await second.status()).children).toEqual([])
  } finally {
    await app.stop()
  }
})

it("a body's wait for a lock after its hard time limit parks no later run of its id: the virtual clock still waits for that run's work", async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const gates = [gate()]
  // Holds 'k' for ten minutes (it never releases it).
  const holder = app.task('given-up.holder', { bind: true }, async (self) => (await self.lock('k', { ttl: 600_000 }))?.token ?? null)
  let calls = 0
  const slow = app.task('given-up.locker', { bind: true }, async (self) => {
    const n = calls++
    if (n === 0) {
      // Its hard time limit ends it at 1 s; its sleep ends at 5 s, and it goes on regardless.
      await self.sleep(5_000).catch(() => undefined)
      await gates[0]!.wait
      await self.lock('k', { ttl: 1_000, wait: 60_000 })
      return 'run 0'
    }
    // The next run of the id sleeps on the clock, then works outside the engine (turns of the
    // event loop): the virtual clock must not move while it works.
    const before = clock.now()
    await self.sleep(100)
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
    return clock.now() - before
  })
  await app.start()
  try {
    expect(await (await holder.delay()).get()).not.toBeNull()
    const second = await againAfterItsWake(slow, clock)
    expect(calls).toBe(2)
    // The first body asks for 'k' while the second run sleeps; it waits (up to a minute). Before,
    // the engine counted that wait as the second run's: the run parked twice, the engine never
    // quiet again (the clock hung), or moving the clock while the run worked.
    gates[0]!.open()
    await clock.advance(0)
    // The second run wakes at 100 ms and works: the clock moves on only once it is done.
    await clock.advance(100)
    await clock.advance(10_000)
    expect(await second.get()).toBe(100)
    await clock.runAll()
  } finally {
    await app.stop()
  }
})
