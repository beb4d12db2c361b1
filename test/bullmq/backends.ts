/**
 * The backends the BullMQ capability tests run on. Each test file runs its cases once per entry
 * with `describe.each(backends)`: `redis` is BullMQ's own backend on the local Redis, which proves
 * the tests assert what Redis does; `celeriac-memory` and `celeriac-file` are `bullmqBackend()`
 * on a fresh memory storage, or a fresh file storage directory, per test.
 *
 * CELERIAC_BULLMQ_BACKENDS (comma-separated names, e.g. `redis` or `celeriac-memory,celeriac-file`)
 * narrows the run; unset, every entry runs.
 */
import { reachable } from '../reachable.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRedisBackend } from 'bullmq'
import type { BackendFactory, ConnectionOptions, IQueueBackend } from 'bullmq'
import { Redis } from 'ioredis'
import { it } from 'vitest'
import { bullmqBackend } from '../../src/bullmq/index.js'
import type { Clock } from '../../src/index.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { fileStorage } from '../../src/storage/file/index.js'
import type { Storage } from '../../src/storage/types.js'

export type BackendName = 'redis' | 'celeriac-memory' | 'celeriac-file'

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

/** A celeriac backend, which can also run on a clock of the test's choosing. */
export interface CeleriacBackend extends Backend {
  open(options?: { clock?: Clock }): Promise<BackendSetup>
}

/** The local Redis every Redis test uses. */
export const REDIS = { host: '127.0.0.1', port: 6379 } as const

let prefixes = 0

/** A prefix no other test (in this process or another) uses. */
function uniquePrefix(): string {
  return `celeriac-bull-${String(process.pid)}-${String(++prefixes)}-${Math.random().toString(36).slice(2, 8)}`
}

/** Deletes the keys under `prefix` (`prefix:*`, or `prefix` + `below`) only (never FLUSHALL: the Redis may be shared). */
export async function deleteKeys(prefix: string, below = ':*'): Promise<void> {
  const client = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}${below}`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

export const redisDown = (await reachable(REDIS.host, REDIS.port))
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

/** `bullmqBackend` on a storage made for one test; the storage is closed after it. */
function celeriac(name: BackendName, storage: () => { storage: Storage; remove?: () => void }): CeleriacBackend {
  return {
    name,
    unavailable: undefined,
    async open(options = {}) {
      const made = storage()
      const factory = bullmqBackend({ storage: made.storage, ...options }) as BackendFactory<IQueueBackend, ConnectionOptions>
      return {
        factory,
        // BullMQ's classes demand a connection; this backend does not use it.
        connection: {},
        prefix: 'bull',
        async cleanup() {
          await made.storage.close()
          made.remove?.()
        },
      }
    },
  }
}

const celeriacMemory = celeriac('celeriac-memory', () => ({ storage: memoryStorage() }))
const celeriacFile = celeriac('celeriac-file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-capability-'))
  return { storage: fileStorage({ dir }), remove: () => rmSync(dir, { recursive: true, force: true }) }
})

const all: readonly Backend[] = [redis, celeriacMemory, celeriacFile]

function select(filter: string | undefined): readonly Backend[] {
  if (filter === undefined || filter.trim() === '') return all
  const names = filter.split(',').map((w) => w.trim())
  const chosen = all.filter((b) => names.includes(b.name))
  // A filter that names nothing would silently run no test at all.
  if (chosen.length === 0) throw new Error(`CELERIAC_BULLMQ_BACKENDS=${filter} names none of ${all.map((b) => b.name).join(', ')}`)
  return chosen
}

/** The backends this run covers. */
export const backends: readonly Backend[] = select(process.env.CELERIAC_BULLMQ_BACKENDS)

/** The celeriac backends this run covers (the ones that take a virtual clock). */
export const celeriacBackends: readonly CeleriacBackend[] = backends.filter((b): b is CeleriacBackend => b !== redis)

/**
 * `it`, or `it.fails` on a backend with a known gap. `gaps` names each backend that fails the
 * test every time and why, so the list of gaps is in the test file next to the assertion it
 * breaks, and the day a gap closes the test fails until its mark is removed.
 */
export function itOn(backend: Backend, gaps: Partial<Record<BackendName, string>>): (title: string, fn: () => Promise<void>) => void {
  return gaps[backend.name] === undefined ? (title, fn) => it(title, fn) : (title, fn) => it.fails(title, fn)
}
