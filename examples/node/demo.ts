/**
 * Demo: a dataset of records processed in chunks with a chord, progress shown live in the
 * terminal. Runs on the embedded default (memory storage, inline executor).
 *
 *   npm run demo
 */
import { chord } from '../../src/index.js'
import { aggregate, app, processChunk } from './tasks.js'

const RECORDS = 2_000
const CHUNK = 250

const ids = Array.from({ length: RECORDS }, (_, i) => i + 1)
const chunks: number[][] = []
for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK))

const percent = new Map<string, number>()
const order: string[] = []
const interactive = process.stdout.isTTY === true
let drawn = 0

function draw(final = false): void {
  if (!interactive && !final) return
  if (interactive && drawn > 0) process.stdout.write(`\x1b[${String(drawn)}A`)
  const lines = order.map((id, i) => {
    const p = percent.get(id) ?? 0
    const bar = '#'.repeat(Math.round(p / 5)).padEnd(20, '.')
    return `chunk ${String(i + 1).padStart(2)}  [${bar}] ${String(p).padStart(3)}%`
  })
  process.stdout.write(lines.join('\n') + '\n')
  drawn = lines.length
}

app.events.on('task-progress', (e) => {
  if (e.name !== processChunk.name) return
  percent.set(e.id, (e.meta as { percent: number }).percent)
  draw()
})
app.events.on('task-succeeded', (e) => {
  if (e.name !== processChunk.name) return
  percent.set(e.id, 100)
  draw()
})

await app.start()
const started = performance.now()
console.log(`Processing ${String(RECORDS)} records in ${String(chunks.length)} chunks of ${String(CHUNK)} (chord -> aggregate)\n`)
const workflow = chord(
  chunks.map((chunk) => processChunk.s(chunk)),
  aggregate.s(),
)
const result = await workflow.delay()
const header = result.parent as { results: Array<{ id: string }> } | undefined
for (const member of header?.results ?? []) order.push(member.id)
draw()
const summary = await result.get({ timeout: 60_000 })
draw(true)
console.log(`\nDone in ${(performance.now() - started).toFixed(0)} ms:`, summary)
await app.stop()
