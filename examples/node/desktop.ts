/**
 * The desktop-app case: durable jobs on file storage, CPU work in worker threads, and a
 * workflow that survives a quit or a crash. Run it, press Ctrl-C (or kill -9 it) half-way, run
 * it again: the chunks not finished run again and the report comes out once.
 *
 *   npx tsx examples/node/desktop.ts [dir]      (default dir: .celeriac-demo)
 *
 * Delete the directory to start over.
 */
import { availableParallelism } from 'node:os'
import { Celeriac, chord } from '../../src/index.js'
import { fileStorage, threads } from '../../src/node.js'
import { chunked, defineDatasetTasks } from './dataset-tasks.js'
import { progressView } from './progress-view.js'

const dir = process.argv[2] ?? '.celeriac-demo'
const RECORDS = Number(process.env.RECORDS ?? 4_000)
const CHUNK = Number(process.env.CHUNK ?? 250)
const REPORT_ID = 'dataset-report'

const app = new Celeriac({
  name: 'desktop-demo',
  storage: fileStorage({ dir }),
  // The prime counting runs in workers; the main thread only keeps the books and draws.
  executor: threads({ module: new URL('./dataset-worker.ts', import.meta.url), size: Math.max(2, availableParallelism()) }),
  // A chunk cut short by a quit runs again on the next start (at least once), instead of
  // failing its chord with WorkerLostError.
  taskDefaults: { acksLate: true },
})
const { processChunk, aggregate } = defineDatasetTasks(app)
const view = progressView(app, processChunk.name)

await app.start()
const report = app.AsyncResult<{ chunks: number; records: number; primes: number }>(REPORT_ID)
const queued = app.inspect.reserved().length + app.inspect.scheduled().length + app.inspect.active().length
if (await report.ready()) {
  console.log(`${dir} already holds the report (delete the directory to run again):`)
} else if (queued > 0) {
  console.log(`Resuming: ${String(queued)} chunk(s) left from the last run in ${dir}\n`)
  view.track(app.inspect.reserved().map((t) => t.id))
} else {
  const chunks = chunked(RECORDS, CHUNK)
  console.log(`Processing ${String(RECORDS)} records in ${String(chunks.length)} chunks on worker threads; state in ${dir}\n`)
  const result = await chord(
    chunks.map((chunk) => processChunk.s(chunk)),
    aggregate.s().set({ taskId: REPORT_ID }),
  ).delay()
  const header = result.parent as { results: Array<{ id: string }> } | undefined
  view.track(header?.results.map((member) => member.id) ?? [])
}
const summary = await report.get({ timeout: 10 * 60_000 })
view.draw(true)
console.log('\nReport:', summary)
await app.stop()
