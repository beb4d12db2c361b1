/**
 * The desktop-app case: durable jobs on file storage, CPU work in worker threads, and a
 * workflow that survives a quit or a crash. Run it, press Ctrl-C (or kill -9 it) half-way, run
 * it again: the chunks not finished run again, the finished ones stay done, and the report comes
 * out once.
 *
 *   npx tsx examples/node/desktop.ts [dir]      (default dir: .celeriac-demo)
 *
 * RECORDS (4000) and CHUNK (250) size the work; PACE_MS (4) is a pause after each record, so that
 * a run lasts long enough to stop half-way (5-10 s of work); PACE_MS=0 runs flat out. Delete the
 * directory to start over.
 */
import { availableParallelism } from 'node:os'
import { Celeriac, chord } from '../../src/index.js'
import { fileStorage, threads } from '../../src/node.js'
import { chunked, defineDatasetTasks } from './dataset-tasks.js'
import { progressView } from './progress-view.js'
import type { TrackedChunk } from './progress-view.js'
import { setting } from './settings.js'

const dir = process.argv[2] ?? '.celeriac-demo'
const RECORDS = setting('RECORDS', 4_000, 1)
const CHUNK = setting('CHUNK', 250, 1)
const PACE_MS = setting('PACE_MS', 4)
const REPORT_ID = 'dataset-report'
/** Chunk ids say their place, so that a resumed run shows each chunk under its first number. */
const chunkId = (number: number, total: number): string => `dataset-chunk-${String(number)}-of-${String(total)}`
const CHUNK_ID = /^dataset-chunk-(\d+)-of-(\d+)$/

const app = new Celeriac({
  name: 'desktop-demo',
  storage: fileStorage({ dir }),
  // The prime counting runs in workers; the main thread only keeps the books and draws.
  executor: threads({ module: new URL('./dataset-worker.ts', import.meta.url), size: Math.min(4, Math.max(2, availableParallelism())) }),
  // A chunk cut short by a quit runs again on the next start (at least once), instead of
  // failing its chord with WorkerLostError.
  taskDefaults: { acksLate: true },
})
const { processChunk, aggregate } = defineDatasetTasks(app)
const view = progressView(app, processChunk.name)
view.exitOnInterrupt((done, total) => `interrupted (${String(done)} of ${String(total)} chunks done); run again to resume`)

/** Every chunk of the stored workflow, as it stands: done, cut short while running, or waiting. */
async function storedChunks(): Promise<{ chunks: TrackedChunk[]; total: number } | undefined> {
  const running = new Set(app.inspect.active().map((t) => t.id))
  const queued = [...app.inspect.reserved(), ...app.inspect.scheduled(), ...app.inspect.active()]
  const total = queued.map((t) => CHUNK_ID.exec(t.id)).find((match) => match !== null)?.[2]
  if (total === undefined) return undefined
  const chunks: TrackedChunk[] = []
  for (let number = 1; number <= Number(total); number++) {
    const id = chunkId(number, Number(total))
    const result = app.AsyncResult(id)
    const state = await result.state()
    const percent = (((await result.info()) as { percent?: number } | null)?.percent ?? 0) as number
    // A chunk with stored progress, or running again already, was cut short by the quit.
    const interrupted = running.has(id) || state === 'PROGRESS' || state === 'STARTED'
    chunks.push({ id, number, state: state === 'SUCCESS' ? 'done' : interrupted ? 'interrupted' : 'waiting', percent })
  }
  return { chunks, total: Number(total) }
}

await app.start()
const report = app.AsyncResult<{ chunks: number; records: number; primes: number }>(REPORT_ID)
const queued = app.inspect.reserved().length + app.inspect.scheduled().length + app.inspect.active().length
const stored = queued > 0 ? await storedChunks() : undefined
if (await report.ready()) {
  console.log(`${dir} already holds the report (delete the directory to run again):`)
} else if (stored !== undefined) {
  const done = stored.chunks.filter((c) => c.state === 'done').length
  console.log(`Resuming in ${dir}: ${String(done)}/${String(stored.total)} chunks done, ${String(stored.total - done)} to go\n`)
  view.track(stored.chunks, stored.total)
} else if (queued > 0) {
  // Chunks without numbered ids were queued by an older version of this example.
  const left = [...app.inspect.reserved(), ...app.inspect.active()].filter((t) => t.name === processChunk.name).length
  console.log(
    left > 0 ? `Resuming in ${dir}: ${String(left)} chunk(s) left from an earlier run` : `Resuming in ${dir}: every chunk is done, the report is being made`,
  )
} else {
  const chunks = chunked(RECORDS, CHUNK)
  console.log(`Processing ${String(RECORDS)} records in ${String(chunks.length)} chunks on worker threads; state in ${dir}\n`)
  await chord(
    chunks.map((chunk, i) => processChunk.s(chunk, PACE_MS).set({ taskId: chunkId(i + 1, chunks.length) })),
    aggregate.s().set({ taskId: REPORT_ID }),
  ).delay()
  view.track(chunks.map((_, i) => ({ id: chunkId(i + 1, chunks.length), number: i + 1 })))
}
const summary = await report.get({ timeout: 60 * 60_000 })
view.finish()
console.log('\nReport:', summary)
await app.stop()
