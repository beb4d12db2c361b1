/**
 * The seed's "chunked dataset -> chord -> aggregate" pattern: records are processed in chunks
 * in parallel, each chunk reports progress, and one task aggregates the chunk results.
 */
import { Celeriac } from '../../src/index.js'

export const app = new Celeriac({ name: 'dataset-demo', queues: { default: { concurrency: 4 } } })

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

export const processChunk = app.task(
  'dataset.process_chunk',
  { bind: true, maxRetries: 2 },
  async (self, recordIds: number[]) => {
    let primes = 0
    for (const [i, id] of recordIds.entries()) {
      primes += countPrimes(2_000 + (id % 500) * 20)
      self.progress(i + 1, recordIds.length)
      // Yield so other chunks interleave on the inline executor.
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
    }
    return { records: recordIds.length, primes }
  },
)

export const aggregate = app.task('dataset.aggregate', (results: Array<{ records: number; primes: number }>) => ({
  chunks: results.length,
  records: results.reduce((sum, r) => sum + r.records, 0),
  primes: results.reduce((sum, r) => sum + r.primes, 0),
}))
