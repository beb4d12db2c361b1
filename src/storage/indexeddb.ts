/// <reference lib="dom" />
/**
 * IndexedDB storage (browser; in Node with an IndexedDB implementation such as fake-indexeddb).
 * One object store per namespace. Every call joins a queue that is applied in order, in one
 * readwrite transaction per tick: many sends in one tick share a transaction, and a `transact`
 * step reads and writes inside it, so it is atomic across tabs too. Other handles on the same
 * database (tabs) hear of each commit through a BroadcastChannel (`watch`).
 */
import { openDB } from 'idb'
import type { IDBPDatabase, IDBPTransaction } from 'idb'
import { ConfigError, StorageError } from '../core/model/errors.js'
import { NAMESPACES } from './types.js'
import type { Mutation, Namespace, Storage, StorageChange, StorageKey, StoredValue, TransactStep } from './types.js'

// 2 drops version 1's unused 'ready' index on messages (see NOTES.md, Browser).
const VERSION = 2

/**
 * Options of {@link indexedDBStorage}.
 *
 * @example
 * const app = new Celeriac({ storage: indexedDBStorage({ name: 'photos' }), consume: 'leader' })
 */
export interface IndexedDBStorageOptions {
  /** The database name; tabs that use the same name share the jobs. */
  name: string
  /** The IndexedDB factory. @default globalThis.indexedDB */
  indexedDB?: IDBFactory
}

/**
 * Durable storage in the browser's IndexedDB, shared by every tab of the origin that opens the
 * same `name`.
 *
 * @example
 * import { Celeriac, indexedDBStorage } from 'celeriac/browser'
 * const app = new Celeriac({ storage: indexedDBStorage({ name: 'jobs' }) })
 */
export function indexedDBStorage(options: IndexedDBStorageOptions): Storage {
  if (options === null || typeof options !== 'object' || typeof options.name !== 'string' || options.name.length === 0) {
    throw new ConfigError("indexedDBStorage({ name }): name must be a non-empty string, e.g. indexedDBStorage({ name: 'jobs' })")
  }
  return new IndexedDBStorage(options.name, options.indexedDB)
}

type Tx = IDBPTransaction<unknown, Namespace[], 'readwrite'>

/** A queued call: it runs inside the flush's transaction and settles when that commits. */
interface Op {
  /** Issues its requests synchronously, then settles when they are done. */
  run(tx: Tx): Promise<void>
  /** A transact: later calls' requests must wait for its writes. */
  exclusive: boolean
  /** Keys it wrote, for the other tabs. */
  changes: StorageChange[]
  resolve(): void
  reject(error: unknown): void
}

class IndexedDBStorage implements Storage {
  readonly name = 'indexeddb'
  readonly capabilities = { durable: true, shared: true } as const
  readonly #dbName: string
  readonly #factory: IDBFactory | undefined
  #db: IDBPDatabase | undefined
  #channel: BroadcastChannel | undefined
  readonly #listeners = new Set<(changes: readonly StorageChange[]) => void>()
  #queue: Op[] = []
  #flushing: Promise<void> | undefined
  #scheduled = false

  constructor(name: string, factory: IDBFactory | undefined) {
    this.#dbName = name
    this.#factory = factory
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) throw new StorageError(`IndexedDB storage '${this.#dbName}' is already open`)
    const factory = this.#factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
    if (factory === undefined) throw new StorageError('IndexedDB is not available here: pass indexedDBStorage({ name, indexedDB }) an IDBFactory')
    const previous = (globalThis as { indexedDB?: IDBFactory }).indexedDB
    try {
      // idb opens through globalThis.indexedDB; point it at the chosen factory for the call.
      if (factory !== previous) (globalThis as { indexedDB?: IDBFactory }).indexedDB = factory
      this.#db = await openDB(this.#dbName, VERSION, {
        upgrade(db, _oldVersion, _newVersion, tx) {
          for (const ns of NAMESPACES) if (!db.objectStoreNames.contains(ns)) db.createObjectStore(ns)
          // The engine keeps the ready order in memory, so an index would only cost every message write.
          const messages = tx.objectStore('messages')
          if (messages.indexNames.contains('ready')) messages.deleteIndex('ready')
        },
        blocking: () => {
          // A newer version wants the database: let it have it.
          this.#db?.close()
        },
      })
    } catch (error) {
      throw new StorageError(`Cannot open IndexedDB database '${this.#dbName}': ${String(error)}`, { cause: error })
    } finally {
      if (factory !== previous) (globalThis as { indexedDB?: IDBFactory }).indexedDB = previous
    }
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`celeriac:${this.#dbName}`)
      this.#channel.onmessage = (event: MessageEvent<StorageChange[]>) => {
        for (const listener of this.#listeners) listener(event.data)
      }
    }
  }

  async close(): Promise<void> {
    if (this.#db === undefined) return
    while (this.#flushing !== undefined || this.#queue.length > 0) await (this.#flushing ?? this.#flush())
    this.#channel?.close()
    this.#channel = undefined
    this.#db.close()
    this.#db = undefined
  }

  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    let value: StoredValue | undefined
    return this.#enqueue(async (tx) => {
      value = (await tx.objectStore(this.#check(ns)).get(key)) as StoredValue | undefined
    }, []).then(() => value)
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    let out: Array<[string, StoredValue]> = []
    return this.#enqueue(async (tx) => {
      const store = tx.objectStore(this.#check(ns))
      const [keys, values] = await Promise.all([store.getAllKeys(), store.getAll()])
      out = keys.map((k, i) => [String(k), values[i] as StoredValue])
    }, []).then(() => out)
  }

  write(mutations: readonly Mutation[]): Promise<void> {
    try {
      for (const m of mutations) this.#check(m.ns)
    } catch (error) {
      return Promise.reject(error)
    }
    if (mutations.length === 0) return this.#db === undefined ? this.#closed() : Promise.resolve()
    return this.#enqueue(
      (tx) => apply(tx, mutations),
      mutations.map(({ ns, key }) => ({ ns, key })),
    )
  }

  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    let result: R
    const changes: StorageChange[] = []
    return this.#enqueue(
      async (tx) => {
        const values = (await Promise.all(keys.map((k) => tx.objectStore(this.#check(k.ns)).get(k.key)))) as Array<StoredValue | undefined>
        // Synchronous: the transaction stays active only while IndexedDB requests are pending.
        const out = step(values)
        for (const m of out.mutations) this.#check(m.ns)
        result = out.result
        for (const m of out.mutations) changes.push({ ns: m.ns, key: m.key })
        await apply(tx, out.mutations)
      },
      changes,
      true,
    ).then(() => result)
  }

  watch(listener: (changes: readonly StorageChange[]) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  // ---- the queue -------------------------------------------------------------------------

  #enqueue(run: (tx: Tx) => Promise<void>, changes: StorageChange[], exclusive = false): Promise<void> {
    if (this.#db === undefined) return this.#closed()
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ run, changes, exclusive, resolve, reject })
      if (!this.#scheduled && this.#flushing === undefined) {
        this.#scheduled = true
        // Every call made before the next task (a send takes a few microtask hops to get here)
        // joins the same transaction.
        nextTask(() => {
          this.#scheduled = false
          void this.#flush()
        })
      }
    })
  }

  #flush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing
    const batch = this.#queue
    this.#queue = []
    if (batch.length === 0 || this.#db === undefined) return Promise.resolve()
    this.#flushing = this.#commit(batch).finally(() => {
      this.#flushing = undefined
      if (this.#queue.length > 0) void this.#flush()
    })
    return this.#flushing
  }

  async #commit(batch: Op[]): Promise<void> {
    const tx = this.#db!.transaction([...NAMESPACES], 'readwrite') as unknown as Tx
    const failed = new Map<Op, unknown>()
    // Requests run in the order they are issued, so plain writes and reads are issued back to
    // back without waiting; a transact is waited for, so that its writes come before the next
    // call's. One op failing (a throwing step) keeps its error for itself alone.
    const inFlight: Array<Promise<void>> = []
    for (const op of batch) {
      const done = op.run(tx).catch((error: unknown) => void failed.set(op, error))
      if (op.exclusive) await done
      else inFlight.push(done)
    }
    await Promise.all(inFlight)
    try {
      await tx.done
    } catch (error) {
      const failure = new StorageError(`IndexedDB transaction on '${this.#dbName}' failed: ${String(error)}`, { cause: error })
      for (const op of batch) op.reject(failed.get(op) ?? failure)
      return
    }
    const changes: StorageChange[] = []
    for (const op of batch) {
      const error = failed.get(op)
      if (error !== undefined) op.reject(error)
      else {
        op.resolve()
        changes.push(...op.changes)
      }
    }
    if (changes.length > 0) this.#channel?.postMessage(changes)
  }

  #check(ns: Namespace): Namespace {
    if (!NAMESPACES.includes(ns)) throw new StorageError(`Unknown storage namespace '${String(ns)}'`)
    return ns
  }

  #closed<T>(): Promise<T> {
    return Promise.reject(new StorageError(`IndexedDB storage '${this.#dbName}' is not open: start the app first (await app.start())`))
  }
}

/** Runs `fn` in the next macrotask: a MessageChannel message (no 4 ms clamp), else a timer. */
const nextTask: (fn: () => void) => void = (() => {
  if (typeof MessageChannel !== 'function') return (fn: () => void) => void setTimeout(fn, 0)
  const channel = new MessageChannel()
  const queue: Array<() => void> = []
  channel.port1.onmessage = () => queue.shift()?.()
  // Node keeps the process alive for an open port: let it go when nothing else runs.
  ;(channel.port1 as unknown as { unref?: () => void }).unref?.()
  ;(channel.port2 as unknown as { unref?: () => void }).unref?.()
  return (fn: () => void) => {
    queue.push(fn)
    channel.port2.postMessage(null)
  }
})()

async function apply(tx: Tx, mutations: readonly Mutation[]): Promise<void> {
  const requests: Array<Promise<unknown>> = []
  for (const m of mutations) {
    const store = tx.objectStore(m.ns)
    requests.push(m.op === 'put' ? store.put(m.value, m.key) : store.delete(m.key))
  }
  await Promise.all(requests)
}
