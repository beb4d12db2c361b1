/**
 * The store of a Celery transport: a Storage whose `results` are Celery's own (the Redis result
 * backend's `celery-task-meta-<id>` keys, in its JSON format, with its TTL and PUBLISH), so a
 * Python `AsyncResult` reads what celeriac stores and celeriac reads what Python workers store.
 * The other namespaces (the outbox of messages not yet on the broker, revoked ids, locks, chord
 * and cluster records) are celeriac's own, in a `redisStore` under the transport's prefix on the
 * same connection (so one handle's calls reach Redis in the order they were made).
 */
import type { Redis } from 'ioredis'
import { StorageError } from '../core/model/errors.js'
import type { ChordRecord } from '../core/model/context.js'
import type { ResultRecord, TaskMessage } from '../core/model/message.js'
import { expiringRedisStore } from '../redis/store.js'
import { connectOwn } from '../redis/connection.js'
import type { Mutation, Namespace, Storage, StorageChange, StorageKey, StoredValue, TransactStep } from '../storage/types.js'
import { chordBodyOf, toEnvelope } from './envelope.js'
import type { ResolvedCeleryOptions } from './options.js'
import { metaFromRecord, RESULT_KEY_PREFIX, recordFromMeta } from './result-meta.js'

/**
 * Celery's result write (`MULTI; SETEX; PUBLISH`), but never over a stored SUCCESS, which
 * Celery 5 refuses too (it dedupes a redelivered task's second run).
 * KEYS[1] result key; ARGV[1] JSON, ARGV[2] TTL in seconds.
 */
const STORE_RESULT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end
end
redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`

type Listener = (changes: readonly StorageChange[]) => void

interface WithStoreResult {
  celeriacStoreResult(key: string, json: string, ttl: number): Promise<number>
}

export class CeleryResultStore implements Storage {
  readonly name = 'celery-redis'
  readonly capabilities = { durable: true, shared: true, transactsResults: false } as const
  readonly #options: ResolvedCeleryOptions
  /** Each listener, with how to stop it hearing celeriac's own records. */
  readonly #listeners = new Map<Listener, (() => void) | undefined>()
  #client: Redis | undefined
  #own: Storage | undefined
  #subscriber: Redis | undefined
  /** Settles once the subscriber listens: a result read after `watch()` waits for it (subscribe, then GET). */
  #subscribed: Promise<void> | undefined
  #lastError: Error | undefined

  constructor(options: ResolvedCeleryOptions) {
    this.#options = options
  }

  /** The connection, for the transport's broker half (open only between open and close). */
  client(): Redis {
    if (this.#client === undefined) throw new StorageError(`The Celery store at ${this.#options.where} is not open: start the app first`)
    return this.#client
  }

  async open(): Promise<void> {
    if (this.#client !== undefined) throw new StorageError(`The Celery store at ${this.#options.where} is already open`)
    const client = await connectOwn(this.#options.redis, (error) => void (this.#lastError = error))
    client.defineCommand('celeriacStoreResult', { numberOfKeys: 1, lua: STORE_RESULT })
    // A chord's record is read when its header is sent (its body goes in Celery's embed) and
    // never again (Celery's keys count it): it expires as Celery's chord keys do.
    const own = expiringRedisStore({ connection: client, prefix: this.#options.prefix }, { chords: this.#options.resultExpires })
    try {
      await own.open()
    } catch (error) {
      client.disconnect()
      throw error
    }
    this.#client = client
    this.#own = own
    if (this.#listeners.size > 0) this.#subscribe()
    for (const [listener] of this.#listeners) this.#listeners.set(listener, own.watch?.(listener))
  }

  async close(): Promise<void> {
    const client = this.#client
    if (client === undefined) return
    this.#client = undefined
    await this.#own?.close()
    this.#own = undefined
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    this.#subscribed = undefined
    await Promise.all([quit(client), subscriber === undefined ? undefined : quit(subscriber)])
  }

  async get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    if (ns !== 'results') return this.#ownStore().get(ns, key)
    await this.#subscribed
    const text = await this.#call((c) => c.get(RESULT_KEY_PREFIX + key))
    return text === null ? undefined : recordFromMeta(key, text)
  }

  async entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    if (ns !== 'results') return this.#ownStore().entries(ns)
    const out: Array<[string, StoredValue]> = []
    const client = this.client()
    let cursor = '0'
    do {
      const [next, keys] = await this.#call(() => client.scan(cursor, 'MATCH', `${RESULT_KEY_PREFIX}*`, 'COUNT', 1000))
      cursor = next
      if (keys.length === 0) continue
      const texts = await this.#call(() => client.mget(keys))
      for (let i = 0; i < keys.length; i++) {
        const id = keys[i]!.slice(RESULT_KEY_PREFIX.length)
        const record = texts[i] == null ? undefined : recordFromMeta(id, texts[i]!)
        if (record !== undefined) out.push([id, record])
      }
    } while (cursor !== '0')
    return out
  }

  /**
   * Celery's results first, then celeriac's own records. Not one atomic step across the two
   * (Celery's backend has no transaction with anything else): a crash in between leaves the
   * result stored and the outbox as it was, which the outbox's resend handles (ids dedupe).
   */
  async write(mutations: readonly Mutation[]): Promise<void> {
    checkMessages(mutations)
    const results = mutations.filter((m) => m.ns === 'results')
    const rest = results.length === 0 ? mutations : mutations.filter((m) => m.ns !== 'results')
    if (results.length > 0) await this.#writeResults(results)
    if (rest.length > 0) await this.#ownStore().write(rest)
  }

  /**
   * Over celeriac's own namespaces only: a result in Celery's backend cannot take part in a
   * compare-and-set with them (see NOTES, "Celery transport"). A step that puts results has them
   * stored after the rest commits.
   */
  async transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    if (keys.some((k) => k.ns === 'results')) {
      throw new StorageError(
        "celeryTransport's store cannot read-modify-write a result atomically: Celery's result backend has no transaction with celeriac's records",
      )
    }
    let results: Mutation[] = []
    const out = await this.#ownStore().transact(keys, (values) => {
      const done = step(values)
      checkMessages(done.mutations)
      results = done.mutations.filter((m) => m.ns === 'results')
      return results.length === 0 ? done : { mutations: done.mutations.filter((m) => m.ns !== 'results'), result: done.result }
    })
    if (results.length > 0) await this.#writeResults(results)
    return out
  }

  watch(listener: Listener): () => void {
    this.#listeners.set(listener, this.#own?.watch?.(listener))
    if (this.#client !== undefined && this.#subscriber === undefined) this.#subscribe()
    return () => {
      this.#listeners.get(listener)?.()
      this.#listeners.delete(listener)
    }
  }

  /**
   * One pattern subscription for every result of the database: Celery PUBLISHes each result on
   * its key's name. Every result stored reaches every watching process (cheap next to the
   * task's own traffic; a per-id SUBSCRIBE would need the engine to say which ids it waits for).
   */
  #subscribe(): void {
    const subscriber = this.client().duplicate()
    this.#subscriber = subscriber
    subscriber.on('error', (error: Error) => void (this.#lastError = error))
    subscriber.on('pmessage', (_pattern: string, channel: string) => {
      const change: StorageChange = { ns: 'results', key: channel.slice(RESULT_KEY_PREFIX.length) }
      for (const listener of this.#listeners.keys()) listener([change])
    })
    this.#subscribed = subscriber.psubscribe(`${RESULT_KEY_PREFIX}*`).then(
      () => undefined,
      (error: unknown) => {
        throw this.#failure(error)
      },
    )
    // A failed subscribe is reported by the reads that wait for it.
    this.#subscribed.catch(() => undefined)
  }

  async #writeResults(mutations: readonly Mutation[]): Promise<void> {
    const client = this.client() as Redis & WithStoreResult
    const ttl = Math.ceil(this.#options.resultExpires / 1000)
    const calls: Array<Promise<unknown>> = []
    for (const m of mutations) {
      const key = RESULT_KEY_PREFIX + m.key
      if (m.op === 'delete') calls.push(client.del(key))
      else {
        // PENDING too: it is the lease of an untracked early-ack run (a missing key would let a
        // redelivery after a kill -9 run it again); Celery reads it as it reads a missing key.
        const record = m.value as ResultRecord
        calls.push(client.celeriacStoreResult(key, JSON.stringify(metaFromRecord(record)), ttl))
      }
    }
    await this.#call(() => Promise.all(calls))
  }

  #ownStore(): Storage {
    if (this.#own === undefined) throw new StorageError(`The Celery store at ${this.#options.where} is not open: start the app first`)
    return this.#own
  }

  async #call<T>(call: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await call(this.client())
    } catch (error) {
      throw this.#failure(error)
    }
  }

  #failure(error: unknown): StorageError {
    if (error instanceof StorageError) return error
    const last = this.#lastError === undefined ? '' : `; last connection error: ${this.#lastError.message}`
    return new StorageError(
      `Redis at ${this.#options.where} failed a call of the Celery store (${error instanceof Error ? error.message : String(error)}${last}): check that Redis runs there`,
      { cause: error },
    )
  }
}

/**
 * Builds the Celery message of every message `mutations` put, and throws its SerializationError
 * before anything is written: a send Celery's wire cannot carry fails at the send, and never
 * stays in the outbox to be sent again.
 */
function checkMessages(mutations: readonly Mutation[]): void {
  for (const m of mutations) {
    if (m.op !== 'put' || m.ns !== 'messages') continue
    const message = m.value as TaskMessage
    const chord = message.chord === null ? undefined : mutations.find((c) => c.op === 'put' && c.ns === 'chords' && c.key === message.chord!.id)
    toEnvelope(message, '', 0, chordBodyOf(message, chord?.op === 'put' ? (chord.value as ChordRecord) : undefined))
  }
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
