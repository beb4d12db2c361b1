/**
 * The seed's "chunked dataset -> chord -> aggregate" pattern: records are processed in chunks
 * in parallel, each chunk reports progress, and one task aggregates the chunk results.
 *
 * The tasks are defined by a function of the app so that the same definitions serve the main
 * thread (inline executor) and each worker of the threads executor (see dataset-worker.ts).
 */
import type { Celeriac, Task } from '../../src/index.js'

/** CPU work standing in for real processing: count the primes below a record's bound. */
export function countPrimes(below: number): number {
  let count = 0
  for (let n = 2; n < below; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

export interface ChunkSummary {
  records: number
  primes: number
}

export function defineDatasetTasks(app: Celeriac) {
  // paceMs: a pause after each record, so that a person can watch the bars (and reload or
  // Ctrl-C half-way); 0 runs flat out, as the tests do.
  const processChunk = app.task('dataset.process_chunk', { bind: true, maxRetries: 2 }, async (self: Task, recordIds: number[], paceMs?: number) => {
    let primes = 0
    for (const [i, id] of recordIds.entries()) {
      primes += countPrimes(2_000 + (id % 500) * 20)
      self.progress(i + 1, recordIds.length)
      // On the inline executor, yield now and then so that chunks interleave.
      if (paceMs !== undefined && paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs))
      else if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 0))
    }
    return { records: recordIds.length, primes } satisfies ChunkSummary
  })
  const aggregate = app.task('dataset.aggregate', (results: ChunkSummary[]) => ({
    chunks: results.length,
    records: results.reduce((sum, r) => sum + r.records, 0),
    primes: results.reduce((sum, r) => sum + r.primes, 0),
  }))
  return { processChunk, aggregate }
}

/** Splits 1..records into chunks of `size` ids. */
export function chunked(records: number, size: number): number[][] {
  const ids = Array.from({ length: records }, (_, i) => i + 1)
  const chunks: number[][] = []
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size))
  return chunks
}
