/**
 * Seed: "Chunking Large Datasets" — split the ids into chunks, process them in parallel with a
 * chord, aggregate at the end. (`task.chunks(ids, n)` builds the same group of slices.)
 */
import { Celeriac, chord } from '../../src/index.js'
import { runIfMain } from './main.js'

export async function run() {
  const app = new Celeriac()
  const lines: string[] = []
  app.events.on('log', (line) => lines.push(line.text))
  const items = new Map(Array.from({ length: 1_050 }, (_, i) => [i + 1, { id: i + 1, processed: false }]))

  const processChunk = app.task('items.process_chunk', (itemIds: number[]) => {
    for (const id of itemIds) items.get(id)!.processed = true
    return itemIds.length
  })
  const aggregateResults = app.task('items.aggregate_results', { bind: true }, (self, results: number[]) => {
    const total = results.reduce((a, b) => a + b, 0)
    self.log.info(`Processed ${total} items total`)
    return total
  })

  function processAllItems() {
    const allIds = [...items.keys()]
    const chunkSize = 100
    const chunks: number[][] = []
    for (let i = 0; i < allIds.length; i += chunkSize) chunks.push(allIds.slice(i, i + chunkSize))
    return chord(
      chunks.map((chunk) => processChunk.s(chunk)),
      aggregateResults.s(),
    ).delay()
  }

  await app.start()
  const total = await (await processAllItems()).get()
  // The same slices as a group, with chunks():
  const perChunk = await (await processChunk.chunks([...items.keys()], 100).delay()).get()
  await app.stop()
  return { total, chunks: perChunk.length, lastChunk: perChunk.at(-1), allProcessed: [...items.values()].every((i) => i.processed), lines }
}

runIfMain(import.meta, run)
