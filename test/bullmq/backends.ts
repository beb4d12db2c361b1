/**
 * The backends the BullMQ capability tests run on. Each test file runs its cases once per entry
 * with `describe.each(backends)`: `redis` is BullMQ's own backend on the local Redis, which proves
 * the tests assert what Redis does.
 *
 * CELERIAC_BULLMQ_BACKENDS (comma-separated names, e.g. `redis` or `celeriac-memory,celeriac-file`)
 * narrows the run; unset, every entry runs.
 */
import { Socket } from 'node:net'
import { createRedisBackend } from 'bullmq'
import type { BackendFactory, ConnectionOptions, IQueueBackend } from 'bullmq'
import { Redis } from 'ioredis'
import { it } from 'vitest'

export type BackendName = 'redis'

/** One test's view of a backend: what to pass to BullMQ's classes, and how to clean up after. */
export interface BackendSetup {
  /** Passed to every class as its last constructor argument. */
  readonly factory: BackendFactory<IQueueBackend, ConnectionOptions>
  readonly connection: ConnectionOptions
  /** Unique to the test, so tests never see each other's keys. */
  readonly prefix: string
  /** Removes what the test stored; called after every BullMQ instance of the test is closed. */
  cleanup(): Promise<void>
}

export interface Backend {
  readonly name: BackendName
  /** Why this backend cannot run here; its tests skip with this message. */
  readonly unavailable: string | undefined
  open(): Promise<BackendSetup>
}

const REDIS = { host: '127.0.0.1', port: 6379 } as const

/** Whether something answers on Redis's port, within half a second. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, host, () => done(true))
  })
}

let prefixes = 0

/** A prefix no other test (in this process or another) uses. */
function uniquePrefix(): string {
  return `celeriac-bull-${String(process.pid)}-${String(++prefixes)}-${Math.random().toString(36).slice(2, 8)}`
}

/** Deletes the keys under `prefix` only (never FLUSHALL: the Redis may be shared). */
async function deleteKeys(prefix: string): Promise<void> {
  const client = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

const redisDown = (await reachable(REDIS.host, REDIS.port))
  ? undefined
  : `Redis is not reachable on ${REDIS.host}:${String(REDIS.port)}: the redis entry is skipped (start redis-server to run it)`
if (redisDown !== undefined) console.warn(`[celeriac] ${redisDown}`)

const redis: Backend = {
  name: 'redis',
  unavailable: redisDown,
  async open() {
    const prefix = uniquePrefix()
    return { factory: createRedisBackend, connection: { ...REDIS }, prefix, cleanup: () => deleteKeys(prefix) }
  },
}

const all: readonly Backend[] = [redis]

function select(filter: string | undefined): readonly Backend[] {
  if (filter === undefined || filter.trim() === '') return all
  const names = filter.split(',').map((w) => w.trim())
  return all.filter((b) => names.includes(b.name))
}

/** The backends this run covers. */
export const backends: readonly Backend[] = select(process.env.CELERIAC_BULLMQ_BACKENDS)

/**
 * `it`, or `it.fails` on a backend with a known gap. `gaps` names each backend that fails the
 * test and why, so the list of gaps is in the test file next to the assertion it breaks.
 */
export function itOn(backend: Backend, gaps: Partial<Record<BackendName, string>>): typeof it.fails {
  return gaps[backend.name] === undefined ? it : it.fails
}
