/**
 * Seed: "Task Revocation" — revoke one task, revoke with terminate, revoke by id and several at
 * once; a task that checks `self.isAborted()` cleans up and returns.
 */
import { Celeriac, TaskRevokedError } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

export async function run() {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const cleanups: string[] = []
  const processed: number[] = []

  const myTask = app.task('jobs.my_task', (data: string) => data)
  const cancelableTask = app.task('jobs.cancelable', { bind: true }, async (self, items: number[]) => {
    for (const item of items) {
      // Check if the task was revoked (self.signal also fires an 'abort' event).
      if (self.isAborted()) {
        cleanups.push('cleaned up')
        return 'stopped early'
      }
      processed.push(item)
      await self.sleep(1_000).catch(() => undefined) // the sleep ends early when the task is aborted
    }
    return 'all done'
  })

  await app.start()
  // Revoke a single task before it runs.
  const result = await myTask.applyAsync(['data'], { countdown: 60_000 })
  await result.revoke()
  // Revoke with termination: the running task's signal aborts and it ends REVOKED.
  const running = await cancelableTask.delay([1, 2, 3, 4, 5])
  await clock.advance(1_500)
  await running.revoke({ terminate: true })
  // By id, and several at once.
  const a = await myTask.applyAsync(['a'], { countdown: 60_000 })
  const b = await myTask.applyAsync(['b'], { countdown: 60_000 })
  const c = await myTask.applyAsync(['c'], { countdown: 60_000 })
  await app.control.revoke(a.id, { terminate: true })
  await app.control.revoke([b.id, c.id])
  await clock.runAll()
  const reason = async (r: { get(): Promise<unknown> }) => r.get().catch((e: unknown) => (e instanceof TaskRevokedError ? e.reason : String(e)))
  const outcome = {
    single: [await result.state(), await reason(result)],
    terminated: [await running.state(), await reason(running)],
    byId: await Promise.all([a, b, c].map((r) => r.state())),
    processed,
    cleanups,
    revoked: app.inspect.revoked().length,
  }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
