/**
 * Locks: the `lock` task option (the seed's deduplicated task), `self.lock` inside a task, and
 * `app.locks` (acquire, release, extend, withLock, `await using`), with TTLs on the virtual clock,
 * owner tokens and fencing numbers.
 */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, TimeoutError, states } from '../../src/index.js'
import type { Lock, TaskRetriedEvent } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e as Error,
  )
}

forEachCombo('locks', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  // ---- the lock task option ------------------------------------------------------------------

  it("lock option 'skip': of two concurrent runs for one key one runs, the other skips with null; another key is not blocked", async () => {
    h = await setup(combo)
    const { opsDedup } = h.tasks
    const a = await opsDedup.delay('order-1', 'A', 2 * SECOND)
    const b = await opsDedup.delay('order-1', 'B', 2 * SECOND)
    const c = await opsDedup.delay('order-2', 'C', 2 * SECOND)
    await h.clock.advance(0)
    // On two workers either may win the lock; exactly one of them runs.
    const [runner, skipped] = h.lines().includes('start A') ? [a, b] : [b, a]
    expect(await skipped.state()).toBe(states.SUCCESS)
    expect(await skipped.get()).toBeNull()
    expect(h.lines()).toContain(`ops.dedup[${skipped.id}] skipped: lock 'res:order-1' is held`)
    expect(await runner.state()).toBe(states.STARTED)
    await h.clock.runAll()
    expect(await runner.get()).toBe(runner === a ? 'A' : 'B')
    expect(await c.get()).toBe('C')
    const label = runner === a ? 'A' : 'B'
    const other = runner === a ? 'B' : 'A'
    expect(
      h
        .lines()
        .filter((l) => l.startsWith('start') || l.startsWith('end'))
        .sort(),
    ).toEqual(['end C', `end ${label}`, 'start C', `start ${label}`].sort())
    expect(h.lines()).not.toContain(`start ${other}`)
    // The lock was released when the run ended: the next run for that key is not skipped.
    const d = await opsDedup.delay('order-1', 'D', 10)
    await h.clock.runAll()
    expect(await d.get()).toBe('D')
  })

  it("lock option 'retry': a run that finds the lock held is RETRY, retries every defaultRetryDelay, and runs once it is free", async () => {
    h = await setup(combo)
    const { opsDedupRetry } = h.tasks
    const t0 = h.clock.now()
    const retried: TaskRetriedEvent[] = []
    h.app.events.on('task-retried', (e) => retried.push(e))
    const a = await opsDedupRetry.delay('order-9', 'A', 2_500)
    await h.clock.advance(0)
    const b = await opsDedupRetry.delay('order-9', 'B', 100)
    await h.clock.advance(100)
    expect(await b.state()).toBe(states.RETRY)
    expect(await a.state()).toBe(states.STARTED)
    await h.clock.runAll()
    expect(await a.get()).toBe('A')
    expect(await b.get()).toBe('B')
    // Held at 0, 1 s and 2 s (A holds it until 2.5 s); free at 3 s. Never both at once.
    expect(h.lines()).toEqual(['start A try 0', 'end A', 'start B try 3', 'end B'])
    expect(retried.map((e) => [e.id, e.retries, e.eta - t0])).toEqual([
      [b.id, 0, 1_000],
      [b.id, 1, 2_000],
      [b.id, 2, 3_000],
    ])
    expect((await b.status()).retries).toBe(3)
    expect((await a.status()).retries).toBe(0)
  })

  it('lock option: the lock expires with its TTL on the virtual clock, so a later run is no longer skipped', async () => {
    h = await setup(combo)
    const { opsShortLock } = h.tasks
    // ttl 1 s, each run 5 s: the lock expires while A still runs.
    const a = await opsShortLock.delay('r', 'A', 5 * SECOND)
    await h.clock.advance(999)
    const b = await opsShortLock.delay('r', 'B', 5 * SECOND)
    await h.clock.advance(0)
    expect(await b.get()).toBeNull()
    await h.clock.advance(1)
    const c = await opsShortLock.delay('r', 'C', 5 * SECOND)
    await h.clock.runAll()
    expect(await a.get()).toBe('A')
    expect(await c.get()).toBe('C')
    expect(h.lines()).toEqual(['start A', `ops.shortLock[${b.id}] skipped: lock 'short:r' is held`, 'start C', 'end A', 'end C'])
  })

  // ---- self.lock -----------------------------------------------------------------------------

  it("self.lock: a holder whose lock expired cannot release the new holder's lock; fencing tokens grow", async () => {
    h = await setup(combo)
    const { opsHoldLock } = h.tasks
    type Held = { token: number; released: boolean } | null
    const a = await opsHoldLock.delay('report', 'A', 1_000, 3_000) // holds 0..1 s (ttl), works until 3 s
    await h.clock.advance(500)
    const b = await opsHoldLock.delay('report', 'B', 5_000, 1_000) // 0.5 s: A holds it
    await h.clock.advance(1_000)
    const c = await opsHoldLock.delay('report', 'C', 5_000, 4_000) // 1.5 s: A's lock expired; C holds it until 5.5 s
    await h.clock.advance(2_000)
    const d = await opsHoldLock.delay('report', 'D', 1_000, 10) // 3.5 s: A released at 3 s, but C still holds it
    await h.clock.advance(2_500)
    const e = await opsHoldLock.delay('report', 'E', 1_000, 10) // 6 s: C released at 5.5 s
    await h.clock.runAll()
    const [ra, rb, rc, rd, re] = (await Promise.all([a, b, c, d, e].map((r) => r.get()))) as Held[]
    expect(rb).toBeNull()
    expect(rd).toBeNull()
    expect(ra!.released).toBe(false) // its lock had expired and was taken: not its to release
    expect(rc!.released).toBe(true)
    expect(re!.released).toBe(true)
    expect(ra!.token).toBeLessThan(rc!.token)
    expect(rc!.token).toBeLessThan(re!.token)
    expect(h.lines()).toEqual(['A got report', 'B busy', 'C got report', 'A released false', 'D busy', 'C released true', 'E got report', 'E released true'])
  })

  it('self.lock with wait: the task gets the lock when the holder releases it, or null when the wait runs out', async () => {
    h = await setup(combo)
    const { opsHoldLock, opsWaitLock } = h.tasks
    const holder = await opsHoldLock.delay('w', 'H', 10_000, 2_000)
    await h.clock.advance(0)
    const patient = await opsWaitLock.delay('w', 5_000)
    await h.clock.advance(1_999)
    expect(await patient.state()).toBe(states.STARTED)
    await h.clock.advance(1)
    const held = (await holder.get()) as { token: number }
    expect(await patient.get()).toBeGreaterThan(held.token)
    // Held for 5 s; a 1 s wait gives up at 1 s with null.
    const long = await opsHoldLock.delay('w2', 'L', 10_000, 5_000)
    await h.clock.advance(0)
    const impatient = await opsWaitLock.delay('w2', 1_000)
    await h.clock.advance(999)
    expect(await impatient.state()).toBe(states.STARTED)
    await h.clock.advance(1)
    expect(await impatient.get()).toBeNull()
    await h.clock.runAll()
    expect(((await long.get()) as { released: boolean }).released).toBe(true)
  })

  it('self.lock with a ttl <= 0 fails the task with ConfigError', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsBadLockTtl.delay(0)
    await h.clock.runAll()
    const error = await rejection(r.get())
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect(error.message).toContain('ttl')
  })

  // ---- app.locks -----------------------------------------------------------------------------

  it('app.locks: acquire refuses a held key; release frees it; an expired lock is free and its old handle is powerless', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const first = await locks.acquire('k', { ttl: 1_000 })
    expect(first).not.toBeNull()
    expect(first!.key).toBe('k')
    expect(await locks.acquire('k', { ttl: 1_000 })).toBeNull()
    // Another key is independent.
    const other = await locks.acquire('other', { ttl: 1_000 })
    expect(other).not.toBeNull()
    await h.clock.advance(999)
    expect(await locks.acquire('k', { ttl: 1_000 })).toBeNull()
    await h.clock.advance(1)
    // Expired at 1 s exactly: free, and the old handle can neither release nor extend it.
    expect(await first!.extend(1_000)).toBe(false)
    const second = await locks.acquire('k', { ttl: 1_000 })
    expect(second).not.toBeNull()
    expect(second!.token).toBeGreaterThan(first!.token)
    expect(await first!.release()).toBe(false)
    expect(await locks.acquire('k', { ttl: 1_000 })).toBeNull() // the stale release freed nothing
    expect(await second!.release()).toBe(true)
    expect(await second!.release()).toBe(false) // once
    expect(await locks.acquire('k', { ttl: 1_000 })).not.toBeNull()
  })

  it('app.locks: extend by the owner moves the expiry from now; a non-owner token can neither release nor extend', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const lock = (await locks.acquire('ext', { ttl: 1_000 }))!
    await h.clock.advance(800)
    expect(await lock.extend(2_000)).toBe(true) // now expires at 2.8 s
    await h.clock.advance(1_999)
    expect(await locks.acquire('ext', { ttl: 1_000 })).toBeNull()
    // The same key and token with another owner (or a wrong token) is refused.
    expect(await locks.release('ext', lock.token, 'intruder')).toBe(false)
    expect(await locks.extend('ext', lock.token, 'intruder', 60_000)).toBe(false)
    const owner = (lock as Lock & { owner: string }).owner
    expect(await locks.release('ext', lock.token + 1, owner)).toBe(false)
    expect(await locks.acquire('ext', { ttl: 1_000 })).toBeNull()
    await h.clock.advance(1)
    // The intruder's extend did not keep it alive: it expired at 2.8 s.
    expect(await locks.acquire('ext', { ttl: 1_000 })).not.toBeNull()
  })

  it('app.locks: fencing tokens only grow, across keys, releases, expiries and tasks', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const tokens: number[] = []
    const a = (await locks.acquire('f1', { ttl: 1_000 }))!
    tokens.push(a.token)
    await a.release()
    const b = (await locks.acquire('f1', { ttl: 1_000 }))!
    tokens.push(b.token)
    tokens.push((await locks.acquire('f2', { ttl: 1_000 }))!.token)
    await h.clock.advance(1_000)
    tokens.push((await locks.acquire('f1', { ttl: 1_000 }))!.token)
    const fromTask = await h.tasks.opsHoldLock.delay('f3', 'T', 1_000, 10)
    await h.clock.runAll()
    tokens.push(((await fromTask.get()) as { token: number }).token)
    tokens.push((await locks.acquire('f3', { ttl: 1_000 }))!.token)
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!)
  })

  it('app.locks: a waiter gets the lock when it is released, or when it expires, and null when its wait runs out', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const holder = (await locks.acquire('w', { ttl: 10_000 }))!
    let gotAt: number | null = null
    const waiting = locks.acquire('w', { ttl: 1_000, wait: 5_000 }).then((l) => {
      gotAt = h.clock.now()
      return l
    })
    await h.clock.advance(1_500)
    expect(gotAt).toBeNull()
    expect(await holder.release()).toBe(true)
    const got = await waiting
    expect(got).not.toBeNull()
    expect(gotAt).toBe(h.clock.now())
    // No release: the waiter gets it at the holder's expiry (2 s), not before.
    const start = h.clock.now()
    await locks.acquire('e', { ttl: 2_000 })
    let expiredAt: number | null = null
    const onExpiry = locks.acquire('e', { ttl: 1_000, wait: 10_000 }).then((l) => {
      expiredAt = h.clock.now()
      return l
    })
    await h.clock.advance(3_000)
    expect(await onExpiry).not.toBeNull()
    expect(expiredAt).toBe(start + 2_000)
    // Held for 10 s, a 1 s wait resolves null at 1 s.
    await locks.acquire('long', { ttl: 10_000 })
    let gaveUpAt: number | null = null
    const giveUp = locks.acquire('long', { ttl: 1_000, wait: 1_000 }).then((l) => {
      gaveUpAt = h.clock.now()
      return l
    })
    const before = h.clock.now()
    await h.clock.advance(2_000)
    expect(await giveUp).toBeNull()
    expect(gaveUpAt).toBe(before + 1_000)
  })

  it('app.locks.withLock runs the function holding the lock and releases it, also when the function throws', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const seen = await locks.withLock('job', { ttl: 5_000 }, async (lock) => {
      expect(await locks.acquire('job', { ttl: 1_000 })).toBeNull()
      return { key: lock.key, token: lock.token }
    })
    expect(seen.key).toBe('job')
    expect(seen.token).toBeGreaterThan(0)
    expect(await locks.acquire('job', { ttl: 1_000 })).not.toBeNull() // released after fn
    const failed = await rejection(
      locks.withLock('boom', { ttl: 5_000 }, () => {
        throw new RangeError('inside the lock')
      }),
    )
    expect(failed).toBeInstanceOf(RangeError)
    expect(await locks.acquire('boom', { ttl: 1_000 })).not.toBeNull() // released after the throw
  })

  it('app.locks.withLock on a held key rejects with TimeoutError (after its wait) and never runs the function', async () => {
    h = await setup(combo)
    const { locks } = h.app
    await locks.acquire('busy', { ttl: 60_000 })
    let ran = false
    const error = await rejection(locks.withLock('busy', { ttl: 1_000 }, () => (ran = true)))
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).code).toBe('TIMEOUT')
    expect(error.message).toContain('busy')
    const waited = rejection(locks.withLock('busy', { ttl: 1_000, wait: 2_000 }, () => (ran = true)))
    await h.clock.advance(2_000)
    expect(await waited).toBeInstanceOf(TimeoutError)
    expect(ran).toBe(false)
  })

  it('await using releases the lock at the end of the block, also when the block throws', async () => {
    h = await setup(combo)
    const { locks } = h.app
    {
      await using scoped = await locks.acquire('scoped', { ttl: 60_000 })
      expect(scoped).not.toBeNull()
      expect(await locks.acquire('scoped', { ttl: 1_000 })).toBeNull()
    }
    const again = await locks.acquire('scoped', { ttl: 60_000 })
    expect(again).not.toBeNull()
    await again![Symbol.asyncDispose]()
    const thrown = await rejection(
      (async () => {
        await using _held = await locks.acquire('scoped', { ttl: 60_000 })
        throw new Error('inside the block')
      })(),
    )
    expect(thrown.message).toBe('inside the block')
    expect(await locks.acquire('scoped', { ttl: 1_000 })).not.toBeNull()
  })

  // ---- bad input -----------------------------------------------------------------------------

  it.each([
    ['ttl 0', { ttl: 0 }],
    ['a negative ttl', { ttl: -5 }],
    ['a NaN ttl', { ttl: Number.NaN }],
    ['an infinite ttl', { ttl: Number.POSITIVE_INFINITY }],
    ['no ttl', {}],
    ['a negative wait', { ttl: 1_000, wait: -1 }],
  ])('app.locks.acquire with %s rejects with ConfigError (code CONFIG) naming the option', async (_label, options) => {
    h = await setup(combo)
    const error = await rejection(h.app.locks.acquire('k', options as { ttl: number }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect(error.message).toMatch(/ttl|wait/)
    // Nothing was taken.
    expect(await h.app.locks.acquire('k', { ttl: 1_000 })).not.toBeNull()
  })

  it('bad lock input elsewhere: an empty key, extend(0), a lock option with ttl <= 0 or an unknown onLocked', async () => {
    h = await setup(combo)
    const { locks } = h.app
    expect(await rejection(locks.acquire('', { ttl: 1_000 }))).toBeInstanceOf(ConfigError)
    const lock = (await locks.acquire('x', { ttl: 1_000 }))!
    const extend = await rejection(lock.extend(0))
    expect(extend).toBeInstanceOf(ConfigError)
    expect(extend.message).toContain('ttl')
    expect(await lock.release()).toBe(true) // a refused extend changed nothing
    for (const ttl of [0, -1]) {
      let thrown: unknown
      try {
        h.app.task(`ops.badLockOption${String(ttl)}`, { lock: { key: () => 'k', ttl } }, () => 1)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(ConfigError)
      expect((thrown as ConfigError).code).toBe('CONFIG')
      expect((thrown as Error).message).toContain('lock.ttl')
    }
    expect(() => h.app.task('ops.badOnLocked', { lock: { key: () => 'k', ttl: 1_000, onLocked: 'wait' as 'skip' } }, () => 1)).toThrow(/onLocked/)
    expect(() => h.app.task('ops.badLockKey', { lock: { key: 'k' as unknown as () => string, ttl: 1_000 } }, () => 1)).toThrow(ConfigError)
  })
})
