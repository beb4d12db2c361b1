/**
 * The Storage contract. An adapter keeps plain JSON data in a few namespaces and applies each
 * call atomically (all or nothing); once a call's promise resolves, what it wrote survives a
 * crash (for durable adapters). The state machine (what a message, a result, a chord or a lock
 * means) lives in the core, written once; adapters only store.
 *
 * Values ({@link StoredValue}) are JSON-compatible trees built by the core (plain objects, arrays,
 * strings, finite numbers, booleans, null). They are immutable once written: the core
 * never mutates a value it wrote or read, so an adapter may keep and return the same object.
 */

/**
 * A stored value: a JSON-compatible tree (typed loosely so the core's record types fit).
 *
 * @example
 * const storage = memoryStorage()
 * await storage.open()
 * const value: StoredValue | undefined = await storage.get('results', id) // the task's result record
 */
export type StoredValue = unknown

/** Every namespace, the one list: adapters make their maps, stores and files from it. */
export const NAMESPACES = ['messages', 'results', 'chords', 'locks', 'revoked', 'meta'] as const

/**
 * Where a record lives. `meta` holds counters (e.g. the lock fencing counter).
 *
 * @example
 * // An adapter of your own keeps one map per namespace.
 * const maps = new Map<Namespace, Map<string, StoredValue>>()
 * for (const ns of ['messages', 'results', 'chords', 'locks', 'revoked', 'meta'] as const) maps.set(ns, new Map())
 */
export type Namespace = (typeof NAMESPACES)[number]

/**
 * One record's address.
 *
 * @example
 * const key: StorageKey = { ns: 'meta', key: 'counter' }
 * await storage.transact([key], ([count]) => ({ mutations: [{ op: 'put', ...key, value: Number(count ?? 0) + 1 }], result: undefined }))
 */
export interface StorageKey {
  readonly ns: Namespace
  readonly key: string
}

/**
 * A write: put a value at a key, or delete the key.
 *
 * @example
 * const mutations: Mutation[] = [
 *   { op: 'put', ns: 'meta', key: 'migrated', value: true },
 *   { op: 'delete', ns: 'meta', key: 'migrating' },
 * ]
 * await storage.write(mutations) // both or neither
 */
export type Mutation =
  | {
      readonly op: 'put'
      readonly ns: Namespace
      readonly key: string
      readonly value: StoredValue
      /**
       * A hint an adapter may ignore: `value` is `{ ...base, ...changes }`, `base` being the value
       * the caller read at the key (the same object). An adapter that still holds `base` there when
       * the mutation applies may store only `changes` (file storage journals them alone).
       */
      readonly base?: StoredValue
      readonly changes?: Readonly<Record<string, StoredValue>>
    }
  | { readonly op: 'delete'; readonly ns: Namespace; readonly key: string }

/**
 * What a {@link Storage.transact} step returns: the writes to apply and the caller's answer.
 *
 * @example
 * // Take the next number of a counter, atomically: the step reads, writes and answers.
 * const next = await storage.transact([{ ns: 'meta', key: 'invoice' }], ([last]): TransactStep<number> => {
 *   const value = Number(last ?? 0) + 1
 *   return { mutations: [{ op: 'put', ns: 'meta', key: 'invoice', value }], result: value }
 * })
 */
export interface TransactStep<R> {
  readonly mutations: readonly Mutation[]
  readonly result: R
}

/**
 * A change made through another handle on the same location (another tab or process).
 *
 * @example
 * const stop = storage.watch?.((changes: readonly StorageChange[]) => {
 *   for (const { ns, key } of changes) if (ns === 'results') console.log(`result ${key} stored elsewhere`)
 * })
 */
export interface StorageChange {
  readonly ns: Namespace
  readonly key: string
}

/**
 * What an adapter can and cannot do; the contract suite reads these.
 *
 * @example
 * if (!storage.capabilities.durable) console.warn(`${storage.name} loses queued tasks when the process ends`)
 */
export interface StorageCapabilities {
  /** A resolved write survives a crash of the process. */
  readonly durable: boolean
  /** Several handles (tabs, processes) can share one location and see each other's writes. */
  readonly shared: boolean
  /**
   * `false` when `transact` cannot read-modify-write a `results` record (a store that keeps
   * results where another system writes them, as Celery's result backend). Absent: it can.
   */
  readonly transactsResults?: boolean
}

/**
 * What a {@link Storage.write} call may ask to be told.
 *
 * @example
 * let written = false
 * const options: WriteOptions = { onWritten: () => (written = true) } // out of the process, not yet synced
 * await storage.write([{ op: 'put', ns: 'meta', key: 'seen', value: 1 }], options)
 */
export interface WriteOptions {
  /**
   * Called at most once, after `write()` returns and before its promise resolves, once the write
   * would survive the death of this process (a kill, a crash) though not yet a power loss. A storage with no such
   * moment before its commit does not call it; it is never called for a write that fails first.
   */
  readonly onWritten?: () => void
}

/**
 * A storage adapter. Build one with a factory (`memoryStorage()`, `fileStorage({ dir })`), pass
 * it as `storage` in the app's config; the app opens and closes it.
 *
 * @example
 * const app = new Celeriac({ storage: memoryStorage() }) // or fileStorage({ dir }), indexedDBStorage({ name })
 */
export interface Storage {
  readonly name: string
  readonly capabilities: StorageCapabilities
  /** Opens (and recovers) the location. Called once by `app.start()`. */
  open(): Promise<void>
  /** Flushes and releases the location. Called by `app.stop()`. */
  close(): Promise<void>
  /** The value at a key, or undefined. */
  get(ns: Namespace, key: string): Promise<StoredValue | undefined>
  /** Every record of a namespace (recovery, inspection). */
  entries(ns: Namespace): Promise<Array<[string, StoredValue]>>
  /**
   * Applies `mutations` atomically; resolves once they are committed. `options.onWritten`, when
   * the storage has such a moment, is called before that, once the write would survive the death
   * of this process but not yet a power loss (file storage: written to the file, before
   * fdatasync); the engine starts an early-ack run then, whose lease is in the write.
   */
  write(mutations: readonly Mutation[], options?: WriteOptions): Promise<void>
  /**
   * Atomic read-modify-write: reads `keys`, calls `step` synchronously with their current values
   * (in the same order; undefined where absent), applies the mutations it returns, and resolves
   * with its `result` once committed. `step` must not await: IndexedDB ends a transaction at the
   * first await on anything else. If `step` throws, nothing is written and the call rejects.
   */
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R>
  /** Subscribes to changes made through other handles (shared adapters only). */
  watch?(listener: (changes: readonly StorageChange[]) => void): () => void
}
