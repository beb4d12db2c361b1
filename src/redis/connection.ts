/**
 * `redisStore()`'s connections: the options checked once, ioredis loaded only when a store opens
 * (so `celeriac/bullmq` loads without it, for `bullmqBackend()` users), and every failure turned
 * into a StorageError that says where Redis was expected and what to do.
 */
import type { Redis, RedisOptions } from 'ioredis'
import { ConfigError, StorageError } from '../core/model/errors.js'

/** What `connection` may be: ioredis options, or an ioredis client (as BullMQ's `connection`). */
export type RedisConnection = RedisOptions | Redis

/**
 * Whether `connection` is a client rather than options. Duck-typed, as a client built by another
 * copy of ioredis fails `instanceof`.
 */
export function isClient(connection: RedisConnection): connection is Redis {
  const c = connection as Partial<Record<'duplicate' | 'evalsha' | 'quit', unknown>>
  return typeof c.duplicate === 'function' && typeof c.evalsha === 'function' && typeof c.quit === 'function'
}

/** ConfigError for a connection the store cannot use; called once, by the factory. */
export function checkConnection(connection: unknown): asserts connection is RedisConnection {
  if (connection === null || typeof connection !== 'object') {
    throw new ConfigError(
      "redisStore({ connection }): connection must be ioredis options or an ioredis Redis, e.g. redisStore({ connection: { host: '127.0.0.1', port: 6379 } })",
    )
  }
  const c = connection as RedisConnection
  if ((c as { isCluster?: unknown }).isCluster === true) {
    throw new ConfigError('redisStore({ connection }): a Redis Cluster client is not supported; pass options or a Redis client for one server')
  }
  const keyPrefix = isClient(c) ? c.options.keyPrefix : c.keyPrefix
  if (keyPrefix !== undefined && keyPrefix !== '') {
    throw new ConfigError(
      "redisStore({ connection }): the connection's keyPrefix is not used by the store's scripts; remove it and pass redisStore({ prefix }) instead",
    )
  }
}

/** Where Redis is, for messages: `host:port`, the socket path, or the Sentinel master's name. */
export function whereIs(connection: RedisConnection): string {
  const o: RedisOptions = isClient(connection) ? connection.options : connection
  if (o.sentinels !== undefined && o.sentinels !== null) return `Sentinel master '${o.name ?? 'mymaster'}'`
  if (o.path !== undefined) return o.path
  return `${o.host ?? 'localhost'}:${String(o.port ?? 6379)}`
}

/**
 * A client of our own on `options`, connected. Its `error` events are kept (ioredis reconnects by
 * itself; the last error explains a failed call). A StorageError if the first connect fails.
 */
export async function connectOwn(options: RedisOptions, onError: (error: Error) => void): Promise<Redis> {
  const RedisClient = await loadIoredis()
  const client = new RedisClient({ ...options, lazyConnect: true })
  let last: Error | undefined
  client.on('error', (error: Error) => {
    last = error
    onError(error)
  })
  try {
    await client.connect()
  } catch (error) {
    client.disconnect()
    const cause = last ?? error
    throw new StorageError(
      `Cannot connect to Redis at ${whereIs(options)} (${(cause as Error).message}): start Redis there, or pass redisStore({ connection }) the host and port where it runs`,
      { cause },
    )
  }
  return client
}

async function loadIoredis(): Promise<typeof Redis> {
  try {
    return (await import('ioredis')).Redis
  } catch (error) {
    throw new StorageError('redisStore() needs the ioredis package: npm install ioredis', { cause: error })
  }
}

/** A failed Redis call as a StorageError that says what to check. */
export function commandError(error: unknown, where: string, lastConnectionError: Error | undefined): StorageError {
  if (error instanceof StorageError) return error
  let message = error instanceof Error ? error.message : String(error)
  if ((error as { name?: unknown } | null)?.name === 'ReplyError') {
    return new StorageError(
      `Redis at ${where} refused a command of redisStore (${message}): check that it is a primary, not a read-only replica, and that it has memory left (maxmemory)`,
      { cause: error },
    )
  }
  if (lastConnectionError !== undefined && lastConnectionError.message !== message) message += `; last connection error: ${lastConnectionError.message}`
  return new StorageError(
    `Redis at ${where} did not answer a call of redisStore (${message}): check that Redis is running and reachable there; the call may or may not have been applied, and the connection keeps reconnecting by itself`,
    { cause: error },
  )
}
