/**
 * How the engine's writes reach storage: the writes of a tick share one call; a run starts once
 * the outcome that made room for it is stored, and an early-ack run's lease and STARTED record
 * (its ack) share that write, so they are stored before its body begins. Seen
 * through a storage that counts its calls (memory underneath, declared durable so the engine
 * writes what it writes on file storage: messages, leases, STARTED records).
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, StorageError, chord } from '../../src/index.js'
import type { Mutation, Storage, StorageKey, StoredValue, TransactStep, WriteOptions } from '../../src/storage/types.js'
import { MemoryBacked } from './memory-backed.js'

class CountingStorage extends MemoryBacked implements Storage {
  readonly name = 'counting'
  readonly capabilities = { durable: true, shared: false } as const
  /** Every write call, in order. */
  readonly writes: Mutation[][] = []
  /** The next write rejects with it. */
  failNext: Error | undefined
  /** Told of each write as it is made. */
  onWrite: ((mutations: readonly Mutation[]) => void) | undefined
  /** Told of each write that asked, when it tells it is written (`early`). */
  onWritten: ((mutations: readonly Mutation[]) => void) | undefined
  /** Told of each write once it is stored, which takes a turn of the event loop when `slow`. */
  onStored: ((mutations: readonly Mutation[]) => void) | undefined
  slow = false
  /** Tells WriteOptions.onWritten of each write on the next microtask, before it is stored. */
  early = false
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    let written: readonly Mutation[] = []
    const stored = this.inner.transact(keys, (values) => {
      const out = step(values)
      written = out.mutations
      return out
    })
    return this.#later(stored).then((result) => {
      this.onStored?.(written)
      return result
    })
  }
  #lastStored: Promise<void> = Promise.resolve()
  /** `stored`, a turn of the event loop later when `slow`. */
  #later<T>(stored: Promise<T>): Promise<T> {
    return this.slow ? stored.then((value) => new Promise<T>((resolve) => setImmediate(() => resolve(value)))) : stored
  }
  write(mutations: readonly Mutation[], options?: WriteOptions): Promise<void> {
    const failure = this.failNext
    this.failNext = undefined
    if (failure !== undefined) return Promise.reject(failure)
    this.writes.push([...mutations])
    this.onWrite?.(mutations)
    const onWritten = options?.onWritten
    // Written in call order, as a journal appends: once the writes before it are stored.
    if (this.early && onWritten !== undefined)
      void this.#lastStored.then(() => {
        this.onWritten?.(mutations)
        onWritten()
      })
    const stored = this.#later(this.inner.write(mutations)).then(() => this.onStored?.(mutations))
    this.#lastStored = stored
    return stored
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

  /** Sends `cb.step` n times (stored by a producer), for an app on the same storage to run. */
  async function queued(storage: CountingStorage, n: number): Promise<string[]> {
    const producer = new Celeriac({ storage, consume: false })
    await producer.start()
    const ids: string[] = []
    for (let i = 0; i < n; i++) ids.push((await producer.sendTask('cb.step', [i])).id)
    await producer.stop()
    storage.writes.length = 0
    return ids
  }

  const states = (write: readonly Mutation[]): string[] =>
    write.filter((m) => m.op === 'put' && m.ns === 'results').map((m) => (m as { value: { state: string } }).value.state)

  it('on a queue of one, each run starts once the previous outcome is stored, sees it, and its lease (early ack) is stored before it starts', async () => {
    const storage = countingStorage()
    const ids = await queued(storage, 4)
    const app = new Celeriac({ storage, queues: { default: { concurrency: 1 } } })
    const seen: Array<string | undefined> = []
    // What happened, in order: runs starting and the writes of leases.
    const order: string[] = []
    storage.onWrite = (mutations) => {
      for (const m of mutations) if (m.op === 'put' && m.ns === 'messages' && (m.value as { leased: boolean }).leased) order.push(`lease ${ids.indexOf(m.key)}`)
    }
    app.task('cb.step', async (n: number) => {
      order.push(`run ${n}`)
      // Runs in send order (FIFO, one at a time): the previous run's result is already stored.
      if (n > 0) seen.push(((await storage.get('results', ids[n - 1]!)) as { state: string } | undefined)?.state)
      return n
    })
    await app.start()
    expect(await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 5_000 })))).toEqual([0, 1, 2, 3])
    expect(seen).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS'])
    expect(order).toEqual(['lease 0', 'run 0', 'lease 1', 'run 1', 'lease 2', 'run 2', 'lease 3', 'run 3'])
    // Each run's lease joins the write of the outcome that made room for it: one write per run.
    expect(storage.writes.map(states)).toEqual([['STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS']])
    await app.stop()
  })

  it("a plain task that returns at once has its outcome and the next run's lease in one write; the next starts once it is stored", async () => {
    const storage = countingStorage()
    const ids = await queued(storage, 4)
    const app = new Celeriac({ storage, queues: { default: { concurrency: 1 } } })
    const order: string[] = []
    storage.slow = true
    storage.onStored = (mutations) => order.push(`stored ${states(mutations).join(' ')}`)
    app.task('cb.step', (n: number) => {
      order.push(`run ${n}`)
      return n
    })
    await app.start()
    expect(await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 5_000 })))).toEqual([0, 1, 2, 3])
    expect(order).toEqual([
      'stored STARTED',
      'run 0',
      'stored SUCCESS STARTED',
      'run 1',
      'stored SUCCESS STARTED',
      'run 2',
      'stored SUCCESS STARTED',
      'run 3',
      'stored SUCCESS',
    ])
    expect(storage.writes.map(states)).toEqual([['STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS', 'STARTED'], ['SUCCESS']])
    await app.stop()
  })

  it('on a storage that tells when a write survives a crash, an early-ack run starts then, before the commit; task-started follows the commit', async () => {
    const storage = countingStorage()
    const ids = await queued(storage, 2)
    const app = new Celeriac({ storage, queues: { default: { concurrency: 1 } } })
    const order: string[] = []
    storage.slow = true
    storage.early = true
    storage.onWritten = (mutations) => order.push(`written ${states(mutations).join(' ')}`)
    storage.onStored = (mutations) => order.push(`stored ${states(mutations).join(' ')}`)
    app.events.on('task-started', (e) => order.push(`task-started ${ids.indexOf(e.id)}`))
    app.events.on('task-succeeded', (e) => order.push(`task-succeeded ${ids.indexOf(e.id)}`))
    app.task('cb.step', (n: number) => {
      order.push(`run ${n}`)
      return n
    })
    await app.start()
    expect(await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 5_000 })))).toEqual([0, 1])
    expect(order).toEqual([
      'written STARTED',
      'run 0',
      'stored STARTED',
      'task-started 0',
      // Run 1 waits for run 0's outcome to be stored (here in a write of its own: file storage puts
      // writes of one turn in one frame anyway), then starts once its own lease is written, before
      // that write is stored; what others see keeps its order: 0 succeeded, then 1 started.
      'stored SUCCESS',
      'task-succeeded 0',
      'written STARTED',
      'run 1',
      'stored STARTED',
      'task-started 1',
      'stored SUCCESS',
      'task-succeeded 1',
    ])
    await app.stop()
  })

  it('a chord header task counted in a transaction: the next run starts once that is stored', async () => {
    const storage = countingStorage()
    const app = new Celeriac({ storage, queues: { default: { concurrency: 1 } } })
    const order: string[] = []
    const step = app.task('cb.step', (n: number) => {
      order.push(`run ${n}`)
      return n
    })
    const sum = app.task('cb.sum', (values: number[]) => {
      order.push('run sum')
      return values.reduce((a, b) => a + b, 0)
    })
    await app.start()
    storage.slow = true
    storage.onStored = (mutations) => {
      const chord = mutations.find((m) => m.ns === 'chords' && m.op === 'put' && !m.key.includes('#'))
      if (chord !== undefined) order.push(`stored count ${String((chord as { value: { count: number } }).value.count)}`)
    }
    const r = await chord([step.s(1), step.s(2), step.s(3)], sum.s()).delay()
    expect(await r.get({ timeout: 5_000 })).toBe(6)
    expect(order).toEqual(['stored count 0', 'run 1', 'stored count 1', 'run 2', 'stored count 2', 'run 3', 'stored count 3', 'run sum'])
    await app.stop()
  })
})
