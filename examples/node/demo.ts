/**
 * Demo: a dataset of records processed in chunks with a chord, progress shown live in the
 * terminal. Runs on the embedded default (memory storage, inline executor).
 *
 *   npm run demo
 */
import { chord } from '../../src/index.js'
import { chunked } from './dataset-tasks.js'
import { progressView } from './progress-view.js'
import { aggregate, app, processChunk } from './tasks.js'

const RECORDS = 2_000
const CHUNK = 250
const chunks = chunked(RECORDS, CHUNK)
const view = progressView(app, processChunk.name)

await app.start()
const started = performance.now()
console.log(`Processing ${String(RECORDS)} records in ${String(chunks.length)} chunks of ${String(CHUNK)} (chord -> aggregate)\n`)
const result = await chord(
  chunks.map((chunk) => processChunk.s(chunk)),
  aggregate.s(),
).delay()
const header = result.parent as { results: Array<{ id: string }> } | undefined
view.track(header?.results.map((member) => member.id) ?? [])
const summary = await result.get({ timeout: 60_000 })
view.draw(true)
console.log(`\nDone in ${(performance.now() - started).toFixed(0)} ms:`, summary)
await app.stop()
