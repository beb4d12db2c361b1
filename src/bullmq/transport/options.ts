import { type BackendFactory, type ConnectionOptions, createRedisBackend } from 'bullmq'
import { ConfigError } from '../../core/model/errors.js'
import type { Storage } from '../../storage/types.js'
import { redisStore, type RedisStoreOptions } from '../../redis/store.js'

/**
 * Options of {@link bullmqTransport}. Durations are in milliseconds.
 *
 * @example
 * const transport = bullmqTransport({ connection: { host: '127.0.0.1', port: 6379 }, prefix: 'orders', lockDuration: 30_000 })
 */
export interface BullmqTransportOptions {
  /**
   * How BullMQ's classes reach Redis (an ioredis client or its options), passed to every Queue
   * and Worker as is. Over `bullmqBackend()` BullMQ still asks for one: `{}` does.
   * @example
   * bullmqTransport({ connection: { host: '127.0.0.1', port: 6379 } })
   */
  connection: ConnectionOptions
  /**
   * Where results, chord counters, revoked ids and locks live: a Storage every process of the
   * app shares. Required over `bullmqBackend()` (e.g. the storage given to it); on Redis it
   * defaults to `redisStore({ connection, prefix })`, on the same Redis.
   */
  store?: Storage
  /** Key prefix of the app's queues in Redis. @default 'celeriac' */
  prefix?: string
  /**
   * The BullMQ backend, passed to each Queue and Worker as their last argument: BullMQ's own
   * (Redis) when absent, or `bullmqBackend({ clock })` to run without Redis.
   */
  backend?: BackendFactory
  /**
   * How long a Worker's lock on a job lasts unless renewed (BullMQ renews it at half that). A
   * process that dies holding a job gives it up after about `lockDuration + stalledInterval`.
   * @default 30_000
   */
  lockDuration?: number
  /** How often each Worker looks for jobs whose lock expired (stalled) and puts them back. @default 30_000 */
  stalledInterval?: number
  /**
   * How long a finished job is kept, so that adding its id again is still skipped (dedupe of
   * chain steps and chord bodies re-added after a crash). At least `lockDuration + stalledInterval`.
   * BullMQ counts it in whole seconds.
   * @default 86_400_000 (one day)
   */
  retention?: number
  /**
   * A global rate limit, BullMQ's limiter: in each queue this process consumes, at most `max`
   * tasks are handed out per `duration` ms across every worker process of that queue (give every
   * worker the same limiter). What is handed out includes a process's prefetch and retries coming
   * back, so starts can bunch. Celery's per-task `rateLimit` still applies, per process.
   * Off when absent.
   * @example
   * bullmqTransport({ connection: {}, limiter: { max: 100, duration: 1_000 } }) // 100 tasks a second per queue, cluster-wide
   */
  limiter?: BullmqTransportLimiter
}

/**
 * {@link BullmqTransportOptions.limiter}: at most `max` starts per `duration` ms.
 *
 * @example
 * const transport = bullmqTransport({ connection: { host: '127.0.0.1', port: 6379 }, limiter: { max: 100, duration: 60_000 } }) // 100 a minute per queue, cluster-wide
 */
export interface BullmqTransportLimiter {
  readonly max: number
  readonly duration: number
}

/** The options with their defaults, checked. */
export interface ResolvedTransportOptions {
  readonly connection: ConnectionOptions
  readonly store: Storage
  readonly prefix: string
  /** BullMQ's own (Redis) unless given. */
  readonly backend: BackendFactory
  readonly lockDuration: number
  readonly stalledInterval: number
  readonly retention: number
  readonly limiter: BullmqTransportLimiter | undefined
}

const DEFAULTS = {
  prefix: 'celeriac',
  lockDuration: 30_000,
  stalledInterval: 30_000,
  retention: 86_400_000,
} as const

function positive(name: string, value: number, unit = 'milliseconds'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`bullmqTransport: ${name} must be a positive whole number of ${unit}, got ${String(value)}`)
  }
  return value
}

function limiterOf(given: unknown): BullmqTransportLimiter | undefined {
  if (given === undefined) return undefined
  if (given === null || typeof given !== 'object') {
    throw new ConfigError(`bullmqTransport: limiter must be { max, duration } (e.g. { max: 100, duration: 1_000 }), got ${String(given)}`)
  }
  const { max, duration } = given as Partial<BullmqTransportLimiter>
  return { max: positive('limiter.max', max as number, 'tasks'), duration: positive('limiter.duration', duration as number) }
}

/** Defaults, in one place; a bad value is a ConfigError that says what to give instead. */
export function resolveTransportOptions(options: BullmqTransportOptions): ResolvedTransportOptions {
  const given = options as Partial<BullmqTransportOptions> | undefined
  if (given === undefined || given === null || typeof given !== 'object') throw new ConfigError('bullmqTransport needs options: { connection }')
  if (given.connection === undefined || given.connection === null || typeof given.connection !== 'object') {
    throw new ConfigError('bullmqTransport: connection is required (ioredis options such as { host, port }, or a client; {} over bullmqBackend())')
  }
  if (given.store === undefined && given.backend !== undefined) {
    throw new ConfigError('bullmqTransport: over a backend of your own, give a store too: a Storage every process of the app shares (results, chords, locks)')
  }
  if (given.store !== undefined && (given.store === null || typeof given.store !== 'object' || typeof given.store.transact !== 'function')) {
    throw new ConfigError('bullmqTransport: store must be a Storage (e.g. redisStore({ connection }))')
  }
  const prefix = given.prefix ?? DEFAULTS.prefix
  if (typeof prefix !== 'string' || prefix === '' || prefix.includes(':')) {
    throw new ConfigError(`bullmqTransport: prefix must be a non-empty string without ':', got ${JSON.stringify(prefix)}`)
  }
  if (given.backend !== undefined && typeof given.backend !== 'function') {
    throw new ConfigError('bullmqTransport: backend must be a BullMQ BackendFactory, e.g. bullmqBackend({ clock })')
  }
  const lockDuration = positive('lockDuration', given.lockDuration ?? DEFAULTS.lockDuration)
  const stalledInterval = positive('stalledInterval', given.stalledInterval ?? DEFAULTS.stalledInterval)
  const retention = positive('retention', given.retention ?? DEFAULTS.retention)
  if (retention < lockDuration + stalledInterval) {
    // A job forgotten before a stalled copy of it could be redelivered would let a re-add run it twice.
    throw new ConfigError(
      `bullmqTransport: retention (${String(retention)} ms) must be at least lockDuration + stalledInterval (${String(lockDuration + stalledInterval)} ms)`,
    )
  }
  const limiter = limiterOf(given.limiter)
  const store = given.store ?? redisStore({ connection: given.connection as RedisStoreOptions['connection'], prefix })
  return { connection: given.connection, store, prefix, backend: given.backend ?? createRedisBackend, lockDuration, stalledInterval, retention, limiter }
}
