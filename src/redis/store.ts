/**
 * `redisStore()`: the Storage contract on Redis, shared by every process on every machine that
 * uses the same Redis and prefix. The BullMQ transport keeps results, chord counters, revoked
 * ids, locks and its outbox here.
 *
 * Cost is per Redis command (docs/transport-plan.md §5c), so each call is one command: a write
 * is one EVALSHA that applies every put and delete and publishes the changed keys; a transact
 * is one MGET, then one EVALSHA that checks the values read are still there (compare and set)
 * and commits; a conflict answers the current values and the step runs again.
 */
import type { Redis } from 'ioredis'
import { ConfigError, StorageError } from '../core/model/errors.js'
import { NAMESPACES } from '../storage/types.js'
import type { Mutation, Namespace, Storage, StorageChange, StorageKey, StoredValue, TransactStep } from '../storage/types.js'
import { checkConnection, commandError, connectOwn, isClient, type RedisConnection, whereIs } from './connection.js'
import { ABSENT, COMMIT_SCRIPT, ENTRIES_SCRIPT, tagged } from './scripts.js'

/**
 * Options of {@link redisStore}.
 *
 * @example
 * const store = redisStore({ connection: { host: '127.0.0.1', port: 6379 }, prefix: 'shop' })
 */
export interface RedisStoreOptions {
  /**
   * Where Redis is, as BullMQ's `connection`: ioredis options (the store makes its connections
   * and closes them on `close()`), or an ioredis `Redis` client (used as is and left open on
   * `close()`; `watch` subscribes on a duplicate of it). Its `keyPrefix` must be unset: use
   * `prefix`.
   */
  connection: RedisConnection
  /**
   * Every key of the store starts with `<prefix>::`, and changes are published on
   * `<prefix>::changes`: processes with the same prefix share the data, other prefixes do not
   * see it.
   * @default 'celeriac'
   */
  prefix?: string
}

/** A transact whose keys keep changing under it gives up after this many tries. */
const MAX_ATTEMPTS = 100

const KNOWN = new Set<string>(NAMESPACES)

const noop = (): void => {}

/**
 * A Storage on Redis, shared by every process on every machine that connects to the same Redis
 * with the same `prefix`. `watch` hears the changes other handles make (Redis pub/sub). A result
 * record with an `expiresAt` (epoch ms) gets a Redis TTL, so Redis expires it; that relies on the
 * clocks of the machines being roughly in sync, as Celery's `result_expires` does. Needs the
 * `ioredis` package, loaded when the store opens.
 *
 * @example
 * import { redisStore } from 'celeriac/bullmq'
 *
 * const store = redisStore({ connection: { host: '127.0.0.1', port: 6379 }, prefix: 'jobs' })
 * await store.open()
 * await store.write([{ op: 'put', ns: 'meta', key: 'greeting', value: { text: 'hello' } }])
 * const stop = store.watch?.((changes) => console.log('changed elsewhere', changes))
 */
export function redisStore(options: RedisStoreOptions): Storage {
  return expiringRedisStore(options, {})
}

/**
 * `redisStore` whose records of the namespaces in `ttls` expire that many ms after each put (as
 * Celery's chord keys expire with `result_expires`): for a store whose records no one deletes.
 */
export function expiringRedisStore(options: RedisStoreOptions, ttls: Partial<Record<Namespace, number>>): Storage {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError("redisStore({ connection, prefix? }): pass an options object, e.g. redisStore({ connection: { host: '127.0.0.1', port: 6379 } })")
  }
  checkConnection(options.connection)
  const prefix = options.prefix ?? 'celeriac'
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new ConfigError("redisStore({ prefix }): prefix must be a non-empty string, e.g. 'celeriac'")
  }
  return new RedisStore(options.connection, prefix, ttls)
}

type Listener = (changes: readonly StorageChange[]) => void

class RedisStore implements Storage {
  readonly name = 'redis'
  // Durable as far as Redis's own persistence setting (appendonly, RDB snapshots) makes it: a
  // resolved write is in Redis's memory, and survives the death of every client process.
  readonly capabilities = { durable: true, shared: true } as const
  readonly #connection: RedisConnection
  readonly #prefix: string
  readonly #where: string
  /** Every key starts with it; the empty segment keeps us apart from BullMQ's queue keys. */
  readonly #base: string
  readonly #channel: string
  /** Our messages on the channel carry it, so `watch` skips our own changes. */
  readonly #id = globalThis.crypto.randomUUID()
  /** How a change message of this handle begins (the JSON array opens with its id). */
  readonly #ownChanges = `[${JSON.stringify(this.#id)},`
  readonly #listeners = new Set<Listener>()
  #client: Redis | undefined
  #owned = false
  #subscriber: Redis | undefined
  #commitSha = ''
  #entriesSha = ''
  #opening = false
  #closing = false
  #lastError: Error | undefined
  /**
   * Settles when every transact issued so far has committed (and `watch` has subscribed).
   * Calls made meanwhile wait for it, so Redis sees this handle's calls in the order they were
   * made; otherwise calls go straight out, in order, on one connection.
   */
  #barrier: Promise<void> | undefined

  readonly #ttls: Partial<Record<Namespace, number>>

  constructor(connection: RedisConnection, prefix: string, ttls: Partial<Record<Namespace, number>>) {
    this.#ttls = ttls
    this.#connection = connection
    this.#prefix = prefix
    this.#where = whereIs(connection)
    this.#base = `${prefix}::`
    this.#channel = `${prefix}::changes`
  }

  async open(): Promise<void> {
    if (this.#client !== undefined || this.#opening) throw new StorageError(`Redis store '${this.#prefix}' is already open`)
    this.#opening = true
    const owned = !isClient(this.#connection)
    let client: Redis
    try {
      client = isClient(this.#connection) ? this.#connection : await connectOwn(this.#connection, (error) => void (this.#lastError = error))
      try {
        const [commit, entries] = await Promise.all([client.script('LOAD', COMMIT_SCRIPT), client.script('LOAD', ENTRIES_SCRIPT)])
        this.#commitSha = commit as string
        this.#entriesSha = entries as string
      } catch (error) {
        if (owned) client.disconnect()
        throw this.#failure(error)
      }
    } finally {
      this.#opening = false
    }
    this.#client = client
    this.#owned = owned
    if (this.#listeners.size > 0) this.#subscribe(client)
  }

  async close(): Promise<void> {
    const client = this.#client
    if (client === undefined || this.#closing) return
    this.#closing = true
    try {
      // Calls accepted before close() still go out, and quit() queues behind their replies.
      await this.#barrier
      const subscriber = this.#subscriber
      this.#subscriber = undefined
      await Promise.all([this.#owned ? quit(client) : undefined, subscriber === undefined ? undefined : quit(subscriber)])
    } finally {
      this.#client = undefined
      this.#closing = false
    }
  }

  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    const refused = this.#refuse(ns)
    if (refused !== undefined) return refused
    return this.#inOrder(async () => {
      const raw = await this.#call((c) => c.get(`${this.#base}${ns}:${key}`))
      return raw === null ? undefined : this.#parse(raw, ns, key)
    })
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    const refused = this.#refuse(ns)
    if (refused !== undefined) return refused
    return this.#inOrder(async () => {
      const flat = (await this.#evalsha(this.#entriesSha, ENTRIES_SCRIPT, [this.#base, ns])) as string[]
      const out: Array<[string, StoredValue]> = []
      for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, this.#parse(flat[i + 1]!, ns, flat[i]!)])
      return out
    })
  }

  // No `onWritten`: Redis has no moment before its commit when a write survives this process.
  write(mutations: readonly Mutation[]): Promise<void> {
    const refused = this.#refuse()
    if (refused !== undefined) return refused
    let args: string[]
    try {
      args = this.#commitArgs([], [], mutations)
    } catch (error) {
      return Promise.reject(error)
    }
    if (mutations.length === 0) return Promise.resolve()
    return this.#inOrder(async () => {
      await this.#evalsha(this.#commitSha, COMMIT_SCRIPT, args)
    })
  }

  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    const refused = this.#refuse()
    if (refused !== undefined) return refused
    for (const k of keys) {
      if (!KNOWN.has(k.ns)) return Promise.reject(unknownNamespace(k.ns))
    }
    const result = this.#inOrder(() => this.#transact(keys, step))
    this.#block(result.then(noop, noop))
    return result
  }

  watch(listener: Listener): () => void {
    this.#listeners.add(listener)
    if (this.#client !== undefined && !this.#closing && this.#subscriber === undefined) this.#subscribe(this.#client)
    return () => void this.#listeners.delete(listener)
  }

  async #transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    const reads = keys.map((k) => `${k.ns}:${k.key}`)
    let current: string[] = reads.length === 0 ? [] : (await this.#call((c) => c.mget(reads.map((r) => this.#base + r)))).map((raw) => tagged(raw))
    for (let attempt = 1; ; attempt++) {
      const values = current.map((t, i) => (t === ABSENT ? undefined : this.#parse(t.slice(1), keys[i]!.ns, keys[i]!.key)))
      const out = step(values)
      if (out.mutations.length === 0) return out.result
      const reply = await this.#evalsha(this.#commitSha, COMMIT_SCRIPT, this.#commitArgs(reads, current, out.mutations))
      if (reply === 1) return out.result
      current = reply as string[]
      if (attempt === MAX_ATTEMPTS) {
        throw new StorageError(
          `Redis store '${this.#prefix}': a transact on ${reads.join(', ')} found them changed by other handles ${String(MAX_ATTEMPTS)} times in a row and gave up; fewer processes updating the same keys at once, or retrying later, avoids it`,
        )
      }
    }
  }

  /**
   * The commit script's arguments; throws StorageError (before anything is sent) for an
   * unknown namespace or a value JSON cannot hold.
   */
  #commitArgs(reads: readonly string[], expected: readonly string[], mutations: readonly Mutation[]): string[] {
    const changes: string[] = [this.#id]
    const args = [this.#base, this.#channel, '', String(reads.length)]
    for (let i = 0; i < reads.length; i++) args.push(reads[i]!, expected[i]!)
    const now = Date.now()
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!
      if (!KNOWN.has(m.ns)) throw unknownNamespace(m.ns)
      changes.push(m.ns, m.key)
      if (m.op === 'delete') {
        args.push('d', m.ns, m.key, '', '0')
        continue
      }
      const json = JSON.stringify(m.value)
      if (typeof json !== 'string') throw new StorageError(`Redis store: the value put at ${m.ns}:${m.key} is not JSON (${typeof m.value})`)
      args.push('p', m.ns, m.key, json, String(this.#ttls[m.ns] ?? ttlOf(m.ns, m.value, now)))
    }
    args[2] = JSON.stringify(changes)
    return args
  }

  #subscribe(client: Redis): void {
    const subscriber = client.duplicate()
    this.#subscriber = subscriber
    subscriber.on('error', (error: Error) => void (this.#lastError = error))
    subscriber.on('message', (_channel: string, message: string) => this.#heard(message))
    // ioredis resubscribes after a reconnect only to channels it had; one that never answered is
    // asked again at the next connection.
    const subscribe = (): Promise<void> => subscriber.subscribe(this.#channel).then(noop, () => void subscriber.once('ready', () => void subscribe()))
    // Calls made from now on wait for the subscription, so a change committed after a read
    // issued after watch() is always heard.
    this.#block(subscribe())
  }

  #heard(message: string): void {
    // Its own changes (a worker hears every result it stores): skipped before any parse.
    if (message.startsWith(this.#ownChanges)) return
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (!Array.isArray(parsed) || parsed[0] === this.#id) return
    const changes: StorageChange[] = []
    for (let i = 1; i + 1 < parsed.length; i += 2) changes.push({ ns: parsed[i] as Namespace, key: String(parsed[i + 1]) })
    for (const listener of this.#listeners) listener(changes)
  }

  /** Runs `call` once the barrier (if any) has settled. */
  #inOrder<T>(call: () => Promise<T>): Promise<T> {
    const barrier = this.#barrier
    return barrier === undefined ? call() : barrier.then(call)
  }

  /** Later calls wait for `settled` too (it must not reject). */
  #block(settled: Promise<void>): void {
    const previous = this.#barrier
    const barrier = previous === undefined ? settled : Promise.all([previous, settled]).then(noop)
    this.#barrier = barrier
    void barrier.then(() => {
      if (this.#barrier === barrier) this.#barrier = undefined
    })
  }

  async #call<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await command(this.#client!)
    } catch (error) {
      throw this.#failure(error)
    }
  }

  /** EVALSHA, or EVAL when Redis has lost the script (a restart, SCRIPT FLUSH, a failover). */
  #evalsha(sha: string, script: string, args: readonly string[]): Promise<unknown> {
    return this.#call(async (c) => {
      try {
        // The arguments as one array, not spread: a write of a big tick (50k sends) has more of
        // them than a function call may take.
        return await c.call('evalsha', [sha, 0, ...args])
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return await c.call('eval', [script, 0, ...args])
      }
    })
  }

  #parse(raw: string, ns: Namespace, key: string): StoredValue {
    try {
      return JSON.parse(raw) as StoredValue
    } catch (error) {
      throw new StorageError(`Redis store '${this.#prefix}': ${ns}:${key} does not hold JSON; something other than redisStore wrote it`, {
        cause: error,
      })
    }
  }

  #failure(error: unknown): StorageError {
    return commandError(error, this.#where, this.#lastError)
  }

  #refuse(ns?: Namespace): Promise<never> | undefined {
    if (this.#client === undefined || this.#closing) {
      return Promise.reject(new StorageError(`Redis store '${this.#prefix}' is not open: start the app first (await app.start())`))
    }
    if (ns !== undefined && !KNOWN.has(ns)) return Promise.reject(unknownNamespace(ns))
    return undefined
  }
}

/**
 * The PX TTL of a put, in ms; 0 for none. A results record with a numeric `expiresAt` (epoch ms)
 * expires then, at least 1 ms from now; the clocks of the writer and Redis are taken as in sync.
 */
function ttlOf(ns: Namespace, value: StoredValue, now: number): number {
  if (ns !== 'results' || value === null || typeof value !== 'object') return 0
  const expiresAt = (value as { expiresAt?: unknown }).expiresAt
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return 0
  return Math.max(1, Math.ceil(expiresAt - now))
}

function unknownNamespace(ns: string): StorageError {
  return new StorageError(`Unknown storage namespace '${String(ns)}'`)
}

/** QUIT when connected (it waits for the replies in flight), else drop the connection. */
async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  await client.quit().then(noop, () => client.disconnect())
}
