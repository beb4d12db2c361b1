import type { RedisOptions } from 'ioredis'
import { ConfigError } from '../core/model/errors.js'

/**
 * Options of {@link celeryTransport}. Durations are in milliseconds.
 *
 * @example
 * const transport = celeryTransport({ url: 'redis://127.0.0.1:6379/0', queues: ['node'] })
 */
export interface CeleryTransportOptions {
  /**
   * Where Celery's broker and result backend are: one Redis URL, as Celery's `broker_url` and
   * `result_backend` (both must name the same Redis and database number).
   * @example 'redis://127.0.0.1:6379/0'
   */
  url: string
  /**
   * How long Celery keeps a result this app stores (Celery's `result_expires`), and how long a
   * sent id is remembered so that sending it again is skipped. Rounded up to whole seconds.
   * @default 86_400_000 (one day, as Celery)
   */
  resultExpires?: number
  /**
   * The queues this app serves (takes tasks from, as a Celery worker with `-Q`). Declare the same
   * queues in the app (`queues: { node: {} }`), which gives each its concurrency. Celery's default
   * queue `celery` is never consumed unless named: a Python caller's tasks for Python workers wait
   * there. Omitted: the app only sends.
   * @default []
   */
  queues?: readonly string[]
  /**
   * kombu's `visibility_timeout`: a message taken and not acked for this long (its consumer died)
   * is put back in its queue when an app starts consuming. Match the Python workers' setting.
   * @default 3_600_000 (one hour, as kombu)
   */
  visibilityTimeout?: number
  /**
   * Prefix of the keys celeriac keeps for itself next to Celery's (its outbox of messages not
   * yet on the broker, revoked ids, locks, sent ids). Celery never reads them.
   * @default 'celeriac'
   */
  prefix?: string
}

/** The options with their defaults, checked. */
export interface ResolvedCeleryOptions {
  readonly redis: RedisOptions
  /** `host:port/db`, for messages. */
  readonly where: string
  readonly resultExpires: number
  readonly prefix: string
  readonly queues: readonly string[]
  readonly visibilityTimeout: number
}

const DAY = 86_400_000
const HOUR = 3_600_000

/** Checks `options` once, in the factory: every bad value is a ConfigError saying what to pass. */
export function resolveCeleryOptions(options: CeleryTransportOptions): ResolvedCeleryOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError("celeryTransport({ url }): pass an options object, e.g. celeryTransport({ url: 'redis://127.0.0.1:6379/0' })")
  }
  const redis = parseRedisUrl(options.url)
  const resultExpires = options.resultExpires ?? DAY
  if (typeof resultExpires !== 'number' || !Number.isFinite(resultExpires) || resultExpires < 1000) {
    throw new ConfigError(
      `celeryTransport({ resultExpires }): expected milliseconds, at least 1000 (Celery counts whole seconds), got ${String(resultExpires)}`,
    )
  }
  const prefix = options.prefix ?? 'celeriac'
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.startsWith('celery') || prefix.startsWith('_kombu') || prefix === 'unacked') {
    throw new ConfigError(
      `celeryTransport({ prefix }): expected a non-empty string that does not start with 'celery' or '_kombu' (Celery's own keys), got ${JSON.stringify(prefix)}`,
    )
  }
  const queues = options.queues ?? []
  if (!Array.isArray(queues) || queues.some((q) => typeof q !== 'string' || q.length === 0)) {
    throw new ConfigError(`celeryTransport({ queues }): expected an array of queue names, e.g. ['node'], got ${JSON.stringify(queues)}`)
  }
  const visibilityTimeout = options.visibilityTimeout ?? HOUR
  if (typeof visibilityTimeout !== 'number' || !Number.isFinite(visibilityTimeout) || visibilityTimeout < 1000) {
    throw new ConfigError(`celeryTransport({ visibilityTimeout }): expected milliseconds, at least 1000, got ${String(visibilityTimeout)}`)
  }
  const where = `${redis.host ?? '127.0.0.1'}:${String(redis.port ?? 6379)}/${String(redis.db ?? 0)}`
  return { redis, where, resultExpires, prefix, queues: [...queues], visibilityTimeout }
}

/**
 * A `redis://` or `rediss://` URL as ioredis options, as Celery reads it: `[user][:password]@`,
 * host, port (6379), and the database number as the path (`/0`, or `?db=` as kombu allows).
 */
function parseRedisUrl(url: unknown): RedisOptions {
  const example = "e.g. 'redis://127.0.0.1:6379/0'"
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError(`celeryTransport({ url }): pass the Redis URL Celery uses, ${example}`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`celeryTransport({ url }): ${JSON.stringify(url)} is not a URL; pass the Redis URL Celery uses, ${example}`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(
      `celeryTransport({ url }): only Redis is supported (redis:// or rediss://), got ${parsed.protocol}//; Celery's AMQP and other brokers are not, ${example}`,
    )
  }
  const path = parsed.pathname.replace(/^\//, '')
  const dbText = path !== '' ? path : (parsed.searchParams.get('db') ?? '0')
  if (!/^\d+$/.test(dbText))
    throw new ConfigError(`celeryTransport({ url }): the database number must be a whole number (the path, as in /0), got ${JSON.stringify(dbText)}`)
  const redis: RedisOptions = { host: parsed.hostname === '' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, ''), db: Number(dbText) }
  if (parsed.port !== '') redis.port = Number(parsed.port)
  if (parsed.username !== '') redis.username = decodeURIComponent(parsed.username)
  if (parsed.password !== '') redis.password = decodeURIComponent(parsed.password)
  if (parsed.protocol === 'rediss:') redis.tls = {}
  return redis
}
