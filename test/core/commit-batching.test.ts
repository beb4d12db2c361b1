/**
 * How the engine's writes reach storage: the writes of a tick share one call, and a queue slot
 * frees when a body ends, so the next run's start rides on the previous outcome's commit. Seen
 * through a storage that counts its calls (memory underneath, declared durable so the engine
 * writes what it writes on file storage: messages, leases, STARTED records).
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, StorageError, memoryStorage } from '../../src/index.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from '../../src/storage/types.js'

class CountingStorage implements Storage {
  readonly name = 'counting'
  readonly capabilities = { durable: true, shared: false } as const
  /** Every write call, in order. */
  readonly writes: Mutation[][] = []
  /** The next write rejects with it. */
  failNext: Error | undefined
  readonly #inner = memoryStorage()

  open(): Promise<void> {
    return this.#inner.open()
  }
  close(): Promise<void> {
    return this.#inner.close()
  }
  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    return this.#inner.get(ns, key)
  }
  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    return this.#inner.entries(ns)
  }
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    return this.#inner.transact(keys, step)
  }
  write(mutations: readonly Mutation[]): Promise<void> {
    const failure = this.failNext
    this.failNext = undefined
    if (failure !== undefined) return Promise.reject(failure)
    this.writes.push([...mutations])
    return this.#inner.write(mutations)
  }
}

const countingStorage = (): CountingStorage => new CountingStorage()

describe('writes of a tick', () => {
  it('the sends of one tick are stored in one storage call', async () => {
    const storage = countingStorage()
    const app = new Celeriac({ storage, consume: false })
    await app.start()
    await Promise.all([1, 2, 3].map((i) => app.sendTask('cb.add', [i, i])))
    expect(storage.writes).toHaveLength(1)
    expect(storage.writes[0]!.filter((m) => m.ns === 'messages')).toHaveLength(3)
    await app.stop()
  })

  it('a failed write rejects every send of its tick with the storage error, and the next sends go on', async () => {
    const storage = countingStorage()
    const app = new Celeriac({ storage, consume: false })
    await app.start()
    const failure = new StorageError('disk full')
    storage.failNext = failure
    const sends = await Promise.allSettled([1, 2].map((i) => app.sendTask('cb.add', [i, i])))
    expect(sends.map((s) => (s.status === 'rejected' ? s.reason : s.status))).toEqual([failure, failure])
    const later = await app.sendTask('cb.add', [3, 3])
    expect((await storage.entries('messages')).map(([id]) => id)).toEqual([later.id])
    await app.stop()
  })

  it('on a queue of one, the next run starts in the commit of the previous outcome, and sees it stored', async () => {
    const storage = countingStorage()
    const producer = new Celeriac({ storage, consume: false })
    await producer.start()
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await producer.sendTask('cb.step', [i])).id)
    await producer.stop()

    const app = new Celeriac({ storage, queues: { default: { concurrency: 1 } } })
    const seen: Array<string | undefined> = []
    app.task('cb.step', async (n: number) => {
      // Runs in send order (FIFO, one at a time): the previous run's result is already stored.
      if (n > 0) seen.push(((await storage.get('results', ids[n - 1]!)) as { state: string } | undefined)?.state)
      return n
    })
    storage.writes.length = 0
    await app.start()
    expect(await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 5_000 })))).toEqual([0, 1, 2, 3])
    expect(seen).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS'])
    const states = (write: Mutation[]): string[] =>
      write.filter((m) => m.op === 'put' && m.ns === 'results').map((m) => (m as { value: { state: string } }).value.state)
    // Start 0, then (outcome k + start k+1) three times, then outcome 3: five writes, not eight.
    expect(storage.writes.map(states)).toEqual([['STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS']])
    await app.stop()
  })
})
