/**
 * redisStore(): the storage contract on the local Redis, and what the contract does not cover:
 * handles on one prefix hearing each other, transact across handles, result TTLs, prefixes
 * kept apart, a caller's own client, and errors that say what to do. Every test uses prefixes of
 * its own and deletes their keys after the file; the Redis tests skip, saying so, when nothing
 * answers on 127.0.0.1:6379.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { Cluster, Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { redisStore } from '../../src/bullmq/index.js'
import { Celeriac, ConfigError, StorageError } from '../../src/index.js'
import type { Mutation, Namespace, Storage, StorageChange, StorageKey } from '../../src/index.js'
import { reachable } from '../reachable.js'
import { storageContract } from './contract.js'

const REDIS = { host: '127.0.0.1', port: 6379 } as const

const redisDown = (await reachable(REDIS.host, REDIS.port))
  ? undefined
  : `Redis is not reachable on ${REDIS.host}:${String(REDIS.port)}: the redisStore tests are skipped (start redis-server to run them)`
if (redisDown !== undefined) console.warn(`[celeriac] ${redisDown}`)

const put = (ns: Namespace, key: string, value: unknown): Mutation => ({ op: 'put', ns, key, value })

const prefixes: string[] = []
/** A prefix no other test, here or in another process, uses; its keys are deleted after the file. */
function newPrefix(): string {
  const prefix = `celeriac-test-${randomUUID()}`
  prefixes.push(prefix)
  return prefix
}

let rawClient: Redis | undefined
/** A plain client, to look at what the store left in Redis. */
function raw(): Redis {
  rawClient ??= new Redis({ ...REDIS, maxRetriesPerRequest: 1 })
  return rawClient
}

afterAll(async () => {
  if (redisDown === undefined) {
    // Only our own keys: the Redis may be shared (never FLUSHALL). One pass over the key space
    // for all the prefixes (a pass per prefix outran the hook's 10 s on a shared, full Redis).
    const ours = new Set(prefixes)
    let cursor = '0'
    do {
      const [next, keys] = await raw().scan(cursor, 'MATCH', 'celeriac-test-*', 'COUNT', 1000)
      cursor = next
      const mine = keys.filter((key) => ours.has(key.slice(0, key.indexOf('::'))))
      if (mine.length > 0) await raw().del(...mine)
    } while (cursor !== '0')
  }
  rawClient?.disconnect()
})

describe('redisStore on the local Redis', () => {
  beforeEach((ctx) => {
    if (redisDown !== undefined) ctx.skip(redisDown)
  })

  const prefixOf = new WeakMap<Storage, string>()
  storageContract(
    'redis',
    () => {
      const prefix = newPrefix()
      const storage = redisStore({ connection: { ...REDIS }, prefix })
      prefixOf.set(storage, prefix)
      return storage
    },
    { reopen: (storage) => redisStore({ connection: { ...REDIS }, prefix: prefixOf.get(storage)! }) },
  )

  const opened: Storage[] = []
  async function open(prefix: string): Promise<Storage> {
    const storage = redisStore({ connection: { ...REDIS }, prefix })
    await storage.open()
    opened.push(storage)
    return storage
  }
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close()
  })

  it('states it is durable and shared, and has watch', () => {
    const s = redisStore({ connection: { ...REDIS } })
    expect(s.capabilities).toEqual({ durable: true, shared: true })
    expect(typeof s.watch).toBe('function')
  })

  it('a handle hears the changes other handles on its prefix make, and never its own', async () => {
    const prefix = newPrefix()
    const [a, b] = [await open(prefix), await open(prefix)]
    const heardByA: Array<readonly StorageChange[]> = []
    const heardByB: Array<readonly StorageChange[]> = []
    a.watch!((changes) => heardByA.push(changes))
    b.watch!((changes) => heardByB.push(changes))
    // A call made after watch() waits for the subscription, so nothing below can be missed.
    await Promise.all([a.get('meta', 'x'), b.get('meta', 'x')])

    // Each channel delivers in publish order: once A hears B's write, it has already had (and
    // skipped) the message of its own earlier write.
    await a.write([put('meta', 'from-a', 1)])
    await b.write([put('results', 'r1', { state: 'SUCCESS' }), { op: 'delete', ns: 'meta', key: 'gone' }])
    await vi.waitFor(() =>
      expect(heardByA).toEqual([
        [
          { ns: 'results', key: 'r1' },
          { ns: 'meta', key: 'gone' },
        ],
      ]),
    )
    await a.transact([{ ns: 'chords', key: 'c' }], () => ({ mutations: [put('chords', 'c', 1)], result: null }))
    await vi.waitFor(() => expect(heardByB).toEqual([[{ ns: 'meta', key: 'from-a' }], [{ ns: 'chords', key: 'c' }]]))
  })

  it('an unsubscribed listener hears nothing more; the others on the handle still do', async () => {
    const prefix = newPrefix()
    const [a, b] = [await open(prefix), await open(prefix)]
    const removed: Array<readonly StorageChange[]> = []
    const kept: Array<readonly StorageChange[]> = []
    const stop = a.watch!((changes) => removed.push(changes))
    a.watch!((changes) => kept.push(changes))
    await a.get('meta', 'x')
    await b.write([put('meta', 'one', 1)])
    await vi.waitFor(() => expect(kept).toHaveLength(1))
    stop()
    await b.write([put('meta', 'two', 2)])
    // Both listeners are called for the same message, so once `kept` has it, `removed` would too.
    await vi.waitFor(() => expect(kept).toHaveLength(2))
    expect(removed).toEqual([[{ ns: 'meta', key: 'one' }]])
  })

  it('transact is atomic across handles: 2 handles x 200 concurrent increments end at exactly 400', async () => {
    const prefix = newPrefix()
    const handles = [await open(prefix), await open(prefix)]
    const key: StorageKey = { ns: 'meta', key: 'counter' }
    const seen = await Promise.all(
      handles.flatMap((h) =>
        Array.from({ length: 200 }, () =>
          h.transact([key], ([n]) => {
            const next = ((n as number | undefined) ?? 0) + 1
            return { mutations: [put('meta', 'counter', next)], result: next }
          }),
        ),
      ),
    )
    expect(await handles[0]!.get('meta', 'counter')).toBe(400)
    // Every step that committed saw a distinct count.
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
  })

  it('a chord counted from two handles completes once, each member counted once', async () => {
    const prefix = newPrefix()
    const [a, b] = [await open(prefix), await open(prefix)]
    const size = 50
    await a.write([put('chords', 'ch', { count: 0, size })])
    const count = (s: Storage, index: number) =>
      s.transact(
        [
          { ns: 'chords', key: 'ch' },
          { ns: 'chords', key: `ch#${String(index)}` },
        ],
        ([record, marker]) => {
          if (marker !== undefined) return { mutations: [], result: false }
          const r = record as { count: number; size: number }
          const next = { ...r, count: r.count + 1 }
          return { mutations: [put('chords', `ch#${String(index)}`, true), put('chords', 'ch', next)], result: next.count === next.size }
        },
      )
    // Every member is delivered to both handles (a redelivery on another machine).
    const done = await Promise.all(Array.from({ length: size }, (_, i) => [count(a, i), count(b, i)]).flat())
    expect(done.filter(Boolean)).toHaveLength(1)
    expect(await b.get('chords', 'ch')).toEqual({ count: size, size })
  })

  it('a result with expiresAt gets a Redis TTL until then, and is gone from get and entries once expired', async () => {
    const prefix = newPrefix()
    const s = await open(prefix)
    const requested = 50
    await s.write([put('results', 'soon', { state: 'SUCCESS', expiresAt: Date.now() + requested })])
    const pttl = await raw().pttl(`${prefix}::results:soon`)
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(requested)
    await vi.waitFor(async () => expect(await raw().exists(`${prefix}::results:soon`)).toBe(0), { timeout: 5000, interval: 10 })
    expect(await s.get('results', 'soon')).toBeUndefined()
    expect(await s.entries('results')).toEqual([])
  })

  it('a result whose expiresAt has passed expires at once; one without expiresAt, or a put without it, keeps no TTL', async () => {
    const prefix = newPrefix()
    const s = await open(prefix)
    await s.write([
      put('results', 'past', { state: 'SUCCESS', expiresAt: Date.now() - 60_000 }),
      put('results', 'kept', { state: 'SUCCESS', expiresAt: null }),
      put('results', 'later-kept', { state: 'SUCCESS', expiresAt: Date.now() + 60_000 }),
    ])
    await s.write([put('results', 'later-kept', { state: 'SUCCESS', expiresAt: null })])
    await vi.waitFor(async () => expect(await s.get('results', 'past')).toBeUndefined(), { timeout: 5000, interval: 10 })
    expect(await raw().pttl(`${prefix}::results:kept`)).toBe(-1)
    expect(await raw().pttl(`${prefix}::results:later-kept`)).toBe(-1)
    expect((await s.entries('results')).map(([k]) => k).sort()).toEqual(['kept', 'later-kept'])
  })

  it('only results expire: a lock record with expiresAt keeps no Redis TTL (the core manages its lease)', async () => {
    const prefix = newPrefix()
    const s = await open(prefix)
    await s.write([put('locks', 'l', { owner: 'o', token: 1, expiresAt: Date.now() - 1 })])
    expect(await raw().pttl(`${prefix}::locks:l`)).toBe(-1)
    expect(await s.get('locks', 'l')).toMatchObject({ owner: 'o' })
  })

  it('an expired result leaves the namespace index at the next expiring write, without any entries() call', async () => {
    const prefix = newPrefix()
    const s = await open(prefix)
    const index = `${prefix}::index:results`
    // Far enough ahead that the write lands before it on a loaded machine (20 ms did not, in CI:
    // a record already expired at its write never enters the index, and the next check failed).
    await s.write([put('results', 'old', { expiresAt: Date.now() + 300 })])
    await vi.waitFor(async () => expect(await raw().exists(`${prefix}::results:old`)).toBe(0), { timeout: 5000, interval: 10 })
    expect(await raw().zscore(index, 'old')).not.toBeNull()
    await s.write([put('results', 'new', { expiresAt: Date.now() + 60_000 })])
    expect(await raw().zscore(index, 'old')).toBeNull()
    expect(await raw().zrange(index, '0', '-1')).toEqual(['new'])
  })

  it('different prefixes do not see each other: no reads, no entries, no changes heard', async () => {
    const [p, q] = [newPrefix(), newPrefix()]
    const [onP, onQ, otherOnQ] = [await open(p), await open(q), await open(q)]
    const heardOnQ: Array<readonly StorageChange[]> = []
    onQ.watch!((changes) => heardOnQ.push(changes))
    await onQ.get('meta', 'x')
    await onP.write([put('results', 'r', 1), put('meta', 'm', 2)])
    expect(await onQ.get('results', 'r')).toBeUndefined()
    expect(await onQ.entries('meta')).toEqual([])
    // Heard after P's write, in order on Q's channel: had P's been published there, it came first.
    await otherOnQ.write([put('meta', 'q', 3)])
    await vi.waitFor(() => expect(heardOnQ).toEqual([[{ ns: 'meta', key: 'q' }]]))
  })

  it('a caller-made client is used as is and left open on close; the subscriber the store made is closed', async () => {
    const prefix = newPrefix()
    const client = new Redis({ ...REDIS })
    try {
      const s = redisStore({ connection: client, prefix })
      await s.open()
      s.watch!(() => {})
      await s.write([put('meta', 'k', 'v')])
      expect(await client.get(`${prefix}::meta:k`)).toBe('"v"')
      expect(await client.pubsub('NUMSUB', `${prefix}::changes`)).toEqual([`${prefix}::changes`, 1])
      await s.close()
      expect(await client.ping()).toBe('PONG')
      await vi.waitFor(async () => expect(await client.pubsub('NUMSUB', `${prefix}::changes`)).toEqual([`${prefix}::changes`, 0]))
      // And a new handle on the same client reads what the first wrote.
      const again = redisStore({ connection: client, prefix })
      await again.open()
      expect(await again.get('meta', 'k')).toBe('v')
      await again.close()
    } finally {
      client.disconnect()
    }
  })

  it('keeps working when Redis has lost its scripts (a restart): EVALSHA falls back to EVAL', async () => {
    const prefix = newPrefix()
    const client = new Redis({ ...REDIS })
    // What Redis answers for a script it does not have (SCRIPT FLUSH would hit every user of this Redis).
    client.evalsha = (() => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'))) as typeof client.evalsha
    try {
      const s = redisStore({ connection: client, prefix })
      await s.open()
      await s.write([put('results', 'a', { n: 1 })])
      expect(await s.transact([{ ns: 'results', key: 'a' }], ([v]) => ({ mutations: [put('results', 'a', { n: 2 })], result: v }))).toEqual({ n: 1 })
      expect(await s.entries('results')).toEqual([['a', { n: 2 }]])
      await s.close()
    } finally {
      client.disconnect()
    }
  })

  it("an app's get() hears a result another app on the same prefix stored (engine over watch), with the result's TTL", async () => {
    const prefix = newPrefix()
    const worker = new Celeriac({ name: 'worker', storage: redisStore({ connection: { ...REDIS }, prefix }), resultExpires: 60_000 })
    const producer = new Celeriac({ name: 'producer', storage: redisStore({ connection: { ...REDIS }, prefix }), consume: false })
    const [, add] = [worker, producer].map((app) => app.task('add', (a: number, b: number) => a + b))
    await worker.start()
    await producer.start()
    try {
      const result = await add!.delay(40, 2)
      expect(await result.get({ timeout: 5000 })).toBe(42)
      const pttl = await raw().pttl(`${prefix}::results:${result.id}`)
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(60_000)
    } finally {
      await producer.stop()
      await worker.stop()
    }
  })

  it('a call on a connection that has gone away rejects with a StorageError saying what to check', async () => {
    const client = new Redis({ ...REDIS })
    const s = redisStore({ connection: client, prefix: newPrefix() })
    await s.open()
    client.disconnect()
    await expect(s.get('meta', 'x')).rejects.toThrow(StorageError)
    await expect(s.write([put('meta', 'x', 1)])).rejects.toThrow(/Redis at 127\.0\.0\.1:6379 did not answer .*check that Redis is running and reachable there/)
    await s.close()
  })

  it('a record something else wrote, not JSON, reads as a StorageError naming it', async () => {
    const prefix = newPrefix()
    const s = await open(prefix)
    await raw().set(`${prefix}::meta:foreign`, 'not json')
    await expect(s.get('meta', 'foreign')).rejects.toThrow(/meta:foreign does not hold JSON/)
  })

  it('one write of 60,000 records (a tick that sends 60,000 tasks) is applied whole', async () => {
    // It once failed: its arguments were spread into one function call, past the engine's limit.
    const s = await open(newPrefix())
    const mutations: Mutation[] = []
    for (let i = 0; i < 60_000; i++) mutations.push({ op: 'put', ns: 'messages', key: `m${String(i)}`, value: { i } })
    await s.write(mutations)
    expect(await s.get('messages', 'm59999')).toEqual({ i: 59_999 })
    expect(await s.entries('messages')).toHaveLength(60_000)
  })

  it('opening a handle twice is refused', async () => {
    const s = redisStore({ connection: { ...REDIS }, prefix: newPrefix() })
    const first = s.open()
    await expect(s.open()).rejects.toThrow(/already open/)
    await first
    await expect(s.open()).rejects.toThrow(/already open/)
    await s.close()
  })
})

describe('redisStore errors', () => {
  it('refuses bad options with a ConfigError that shows a good call', () => {
    expect(() => redisStore(undefined as never)).toThrow(ConfigError)
    expect(() => redisStore({ connection: undefined as never })).toThrow(/connection must be ioredis options/)
    expect(() => redisStore({ connection: { ...REDIS }, prefix: '' })).toThrow(/prefix must be a non-empty string/)
    expect(() => redisStore({ connection: { ...REDIS, keyPrefix: 'x:' } })).toThrow(/pass redisStore\(\{ prefix \}\) instead/)
    const cluster = new Cluster([{ ...REDIS }], { lazyConnect: true })
    expect(() => redisStore({ connection: cluster as unknown as Redis })).toThrow(/Redis Cluster client is not supported/)
    cluster.disconnect()
  })

  it('open() on a port where no Redis runs rejects with a StorageError saying where and what to do', async () => {
    const port = await closedPort()
    const s = redisStore({ connection: { host: '127.0.0.1', port }, prefix: 'unused' })
    const error = await s.open().then(
      () => expect.unreachable('open should fail'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(new RegExp(`Cannot connect to Redis at 127\\.0\\.0\\.1:${String(port)} .*start Redis there`))
    await expect(s.get('meta', 'x')).rejects.toThrow(/not open/)
  })
})

/** A local port nothing listens on (just released by the OS). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
