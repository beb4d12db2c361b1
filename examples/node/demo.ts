/**
 * Demo: a dataset of records processed in chunks with a chord, progress shown live in the
 * terminal. Runs on the embedded default (memory storage, inline executor).
 *
 *   npm run demo                 (about 7 s: each record pauses PACE_MS=10 ms so you can watch)
 *   PACE_MS=0 npm run demo       (flat out)      RECORDS=4000 CHUNK=500 npm run demo
 */
import { chord } from '../../src/index.js'
import { chunked } from './dataset-tasks.js'
import { progressView } from './progress-view.js'
import { setting } from './settings.js'
import { aggregate, app, processChunk } from './tasks.js'

const RECORDS = setting('RECORDS', 2_000, 1)
const CHUNK = setting('CHUNK', 250, 1)
const PACE_MS = setting('PACE_MS', 10)
const chunks = chunked(RECORDS, CHUNK)
const view = progressView(app, processChunk.name)
view.exitOnInterrupt(
  (done, total) =>
    `interrupted (${String(done)} of ${String(total)} chunks done). This demo keeps its work in memory, so a new run starts over; examples/node/desktop.ts resumes.`,
)

await app.start()
const started = performance.now()
console.log(`Processing ${String(RECORDS)} records in ${String(chunks.length)} chunks of ${String(CHUNK)} (chord -> aggregate)\n`)
const result = await chord(
  chunks.map((chunk) => processChunk.s(chunk, PACE_MS)),
  aggregate.s(),
).delay()
const header = result.parent as { results: Array<{ id: string }> } | undefined
view.track(header?.results.map((member, i) => ({ id: member.id, number: i + 1 })) ?? [])
const summary = await result.get({ timeout: 10 * 60_000 })
view.finish()
console.log(`\nDone in ${(performance.now() - started).toFixed(0)} ms:`, summary)
await app.stop()
