/**
 * `bullmqTransport` runs the transport contract twice: over `bullmqBackend()` on a virtual clock
 * (no Redis), and on the local Redis in real time (skipped, saying so, when it is not reachable).
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { bullmqBackend, bullmqTransport } from '../../src/bullmq/index.js'
import { fromJobId, toJobId } from '../../src/bullmq/transport/job-id.js'
import { ConfigError } from '../../src/core/model/errors.js'
import type { Transport } from '../../src/core/engine/transport.js'
import { systemClock } from '../../src/core/time/clock.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { virtualClock } from '../../src/testing.js'
import { deleteKeys } from '../bullmq/backends.js'
import { reachable } from '../reachable.js'
import { type TransportHarness, transportContract } from './contract.js'
import { message } from './message.js'

const REDIS = { host: '127.0.0.1', port: 6379 } as const
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Closes every handle a harness opened (a second close of a handle is a no-op). */
function handles(): { opened: Transport[]; closeAll(): Promise<void> } {
  const opened: Transport[] = []
  return {
    opened,
    async closeAll() {
      for (const t of opened.splice(0)) await t.close()
    },
  }
}

async function virtualHarness(): Promise<TransportHarness> {
  const clock = virtualClock()
  const storage = memoryStorage()
  const backend = bullmqBackend({ storage, clock })
  // Lock expiry follows the virtual clock; BullMQ's Worker looks for stalled jobs in real time.
  const lockDuration = 30_000
  const stalledInterval = 100
  const { opened, closeAll } = handles()
  const detach: Array<() => void> = []
  /** Every handle quiet (nothing on its way to a listener), across a real turn. */
  const quiet = async (): Promise<void> => {
    for (;;) {
      while (!opened.every((t) => t.isQuiet!())) await sleep(1)
      await new Promise((r) => setImmediate(r))
      if (opened.every((t) => t.isQuiet!())) return
    }
  }
  return {
    clock,
    async open() {
      const t = bullmqTransport({ connection: {}, store: storage, backend, lockDuration, stalledInterval })
      await t.open({ clock, wake: () => undefined })
      opened.push(t)
      detach.push(await Promise.resolve(clock.attach!({ isQuiet: () => t.isQuiet!(), whenQuiet: quiet })))
      return t
    },
    advance: (ms) => clock.advance(ms),
    // BullMQ's Worker takes jobs in turns of its own; isQuiet says when they are over.
    settle: quiet,
    // The lock expires on the virtual clock; a stall check runs at most once per stalledInterval
    // of virtual time and in real time (the Worker's timer), and a job is taken back at the
    // second check that finds it unlocked: so time moves by steps, with real waits between.
    async reclaim() {
      await clock.advance(lockDuration)
      for (let i = 0; i < 3; i++) {
        await sleep(2 * stalledInterval)
        await clock.advance(stalledInterval)
      }
    },
    async close() {
      for (const d of detach.splice(0)) d()
      await closeAll()
      await storage.close()
    },
  }
}

async function redisHarness(): Promise<TransportHarness> {
  const clock = systemClock()
  const prefix = `celeriac-test-${randomUUID()}`
  const store = memoryStorage()
  // Long enough that a loaded machine still renews locks in time (at 500 ms a late renewal
  // stalled a delivery that was not settled yet, and it came twice), short enough for a test.
  const lockDuration = 3_000
  // A stall check moves a job only once its lock is gone (a renewal takes it off the checks'
  // list), so checking often risks nothing; it shortens the wait after the lock expires.
  const stalledInterval = 500
  const { opened, closeAll } = handles()
  return {
    clock,
    // The lock expires, then a stall check marks the job and the next one moves it (one more
    // interval of slack for a late timer).
    reclaim: () => sleep(lockDuration + 3 * stalledInterval),
    async open() {
      const t = bullmqTransport({ connection: { ...REDIS }, prefix, store, lockDuration, stalledInterval, retention: 60_000 })
      await t.open({ clock, wake: () => undefined })
      opened.push(t)
      return t
    },
    advance: (ms) => sleep(ms),
    settle: () => sleep(150),
    async close() {
      await closeAll()
      await deleteKeys(prefix)
    },
  }
}

const redisDown = (await reachable(REDIS.host, REDIS.port))
  ? undefined
  : `Redis is not reachable on ${REDIS.host}:${String(REDIS.port)} (start redis-server to run it)`
if (redisDown !== undefined) console.warn(`[celeriac] bullmqTransport on Redis skipped: ${redisDown}`)

// bullmqBackend places a delayed job on the virtual clock from BullMQ's real Date.now() at the
// add, so the real milliseconds the add takes make it due that much virtual time early.
transportContract('bullmq over bullmqBackend, virtual clock', virtualHarness, { early: 100 })
// Each case has a prefix of its own, and mostly waits on Redis and BullMQ's timers (a lock to
// expire, stall checks): side by side, those waits overlap.
transportContract('bullmq on Redis, real time', redisHarness, redisDown === undefined ? { concurrent: true } : { unavailable: redisDown })

describe('bullmqTransport on a virtual clock', () => {
  /** Opens `t` with a host that keeps the clock from moving while `t` is not quiet, as the engine does. */
  async function openOnClock(t: Transport, clock: ReturnType<typeof virtualClock>): Promise<() => void> {
    let waiters: Array<() => void> = []
    const wake = (): void => {
      if (!t.isQuiet!()) return
      const ready = waiters
      waiters = []
      for (const resolve of ready) resolve()
    }
    await t.open({ clock, wake })
    return clock.attach!({
      isQuiet: () => t.isQuiet!(),
      whenQuiet: () => (t.isQuiet!() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    })
  }

  it('isQuiet holds the clock until a due message has reached its listener', async () => {
    const clock = virtualClock()
    const storage = memoryStorage()
    const t = bullmqTransport({ connection: {}, store: storage, backend: bullmqBackend({ storage, clock }) })
    expect(typeof t.isQuiet).toBe('function')
    const detach = await openOnClock(t, clock)
    try {
      const got: string[] = []
      await t.listen('q', 2, (d) => {
        got.push(d.message.id)
        void d.ack(false)
      })
      const eta = clock.now() + 60_000
      await t.add([message('soon', { queue: 'q' }), message('hour', { queue: 'q', eta: eta + 3_540_000 }), message('minute', { queue: 'q', eta })])
      await clock.advance(0)
      expect(got).toEqual(['soon'])
      await clock.advance(60_000)
      // No real wait: advance resolved only once the delivery was made.
      expect(got).toEqual(['soon', 'minute'])
      await clock.advance(3_540_000)
      expect(got).toEqual(['soon', 'minute', 'hour'])
      expect(t.isQuiet!()).toBe(true)
    } finally {
      detach()
      await t.close()
      await storage.close()
    }
  })

  it('on Redis (no in-process queues) it is always quiet', () => {
    const t = bullmqTransport({ connection: { ...REDIS }, store: memoryStorage() })
    expect(t.isQuiet?.() ?? true).toBe(true)
  })
})

describe('bullmqTransport job ids', () => {
  it('escapes what BullMQ refuses (colons, integers) reversibly, and leaves a UUID as it is', () => {
    const uuid = randomUUID()
    expect(toJobId(uuid)).toBe(uuid)
    for (const id of ['a:b', ':', '123', '-5', '0', '007', '%', '%3A', '%25', '%i12', '1e3', '12:34', '']) {
      const jobId = toJobId(id)
      expect(jobId).not.toContain(':')
      expect(String(Number.parseInt(jobId, 10))).not.toBe(jobId)
      expect(fromJobId(jobId)).toBe(id)
    }
  })
})

describe('bullmqTransport options', () => {
  const store = memoryStorage()
  const bad: Array<[string, unknown]> = [
    ['no options', undefined],
    ['no connection', { store }],
    ['a backend of its own and no store', { connection: {}, backend: bullmqBackend() }],
    ['a store that is not a Storage', { connection: {}, store: {} }],
    ['an empty prefix', { connection: {}, store, prefix: '' }],
    ['a prefix with a colon', { connection: {}, store, prefix: 'a:b' }],
    ['a zero lockDuration', { connection: {}, store, lockDuration: 0 }],
    ['a fractional stalledInterval', { connection: {}, store, stalledInterval: 1.5 }],
    ['a NaN retention', { connection: {}, store, retention: Number.NaN }],
    ['a retention shorter than a stall', { connection: {}, store, lockDuration: 10_000, stalledInterval: 10_000, retention: 19_999 }],
    ['a backend that is not a factory', { connection: {}, store, backend: {} }],
    ['a limiter that is not an object', { connection: {}, store, limiter: 100 }],
    ['a limiter without max', { connection: {}, store, limiter: { duration: 1_000 } }],
    ['a limiter with a zero duration', { connection: {}, store, limiter: { max: 10, duration: 0 } }],
  ]
  it.each(bad)('%s is a ConfigError', (_, options) => {
    expect(() => bullmqTransport(options as Parameters<typeof bullmqTransport>[0])).toThrow(ConfigError)
  })

  it('takes the defaults without Redis being reachable (nothing connects before open)', () => {
    const t = bullmqTransport({ connection: { ...REDIS }, store })
    expect(t.name).toBe('bullmq')
    expect(t.store).toBe(store)
  })

  it('on Redis, the store defaults to a redisStore on the same Redis and prefix', () => {
    const t = bullmqTransport({ connection: { ...REDIS }, prefix: 'celeriac-defaults' })
    expect(t.store.name).toBe('redis')
    expect(t.store.capabilities).toEqual({ durable: true, shared: true })
  })
})
