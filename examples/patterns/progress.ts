/**
 * Seed: "Progress Tracking" — a long task reports PROGRESS with current/total/percent, and the
 * seed's check_progress view reads it back in a few lines.
 */
import { Celeriac, states } from '../../src/index.js'
import type { AsyncResult } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

/** The seed's `check_progress(request, task_id)` view, as a function of a result handle. */
export async function checkProgress(result: AsyncResult<unknown>): Promise<Record<string, unknown>> {
  const state = await result.state()
  if (state === states.PENDING) return { state: 'PENDING', progress: 0 }
  if (state === states.PROGRESS) return { state: 'PROGRESS', progress: ((await result.info()) as { percent?: number }).percent ?? 0 }
  if (state === states.SUCCESS) return { state: 'SUCCESS', result: await result.get() }
  return { state, error: String(await result.info()) }
}

export async function run() {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const longRunningTask = app.task('reports.long_running', { bind: true }, async (self, items: number[]) => {
    const total = items.length
    for (const [i] of items.entries()) {
      await self.sleep(1_000) // process_item(item)
      self.updateState(states.PROGRESS, { current: i + 1, total, percent: Math.floor(((i + 1) / total) * 100) })
    }
    return { status: 'complete', processed: total }
  })

  await app.start()
  const result = await longRunningTask.applyAsync([[1, 2, 3, 4]], { countdown: 500 })
  const views = [await checkProgress(app.AsyncResult(result.id))]
  // Or follow every update as it comes:
  const percents: number[] = []
  const following = (async () => {
    for await (const update of result.progress()) if (update.state === states.PROGRESS) percents.push((update.info as { percent: number }).percent)
  })()
  await clock.advance(2_500)
  views.push(await checkProgress(result))
  await clock.runAll()
  await following
  views.push(await checkProgress(result))
  await app.stop()
  return { views, percents }
}

runIfMain(import.meta, run)
