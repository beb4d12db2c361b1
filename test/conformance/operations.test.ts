/** Locks, rate limits, revocation, time limits, progress, events, control and inspect. */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded, states } from '../../src/index.js'
import type { StateUpdate } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

forEachCombo('operations', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  // ---- locks ------------------------------------------------------------------------------

  it("lock option 'skip': of two runs for one key, one runs and the other skips", async () => {
    h = await setup(combo)
    const { exclusive } = h.tasks
    const first = await exclusive.delay('o-1', 2 * SECOND)
    const second = await exclusive.delay('o-1', 2 * SECOND)
    const other = await exclusive.delay('o-2', 2 * SECOND)
    await h.clock.runAll()
    expect(await other.get()).toBe('o-2')
    // One of the two ran (on two workers either may take the lock first). The other skipped: its
    // body never ran and it succeeds with null, as the seed's deduplicated_task returns None.
    const outcomes = [await first.get(), await second.get()]
    expect(outcomes).toContain('o-1')
    expect(outcomes).toContain(null)
    const skipped = outcomes[0] === null ? first : second
    expect(h.lines().some((l) => l.includes(`[${skipped.id}] skipped: lock 'order:o-1' is held`))).toBe(true)
    expect(h.lines().filter((l) => l === 'start o-1')).toHaveLength(1)
    expect(h.lines().filter((l) => l === 'start o-2')).toHaveLength(1)
  })

  it("lock option 'retry': the locked run retries later and then runs", async () => {
    h = await setup(combo)
    const { patientLock } = h.tasks
    const first = await patientLock.delay('o-9', 2_500)
    const second = await patientLock.delay('o-9', 100)
    await h.clock.runAll()
    expect(await first.get()).toBe('o-9')
    expect(await second.get()).toBe('o-9')
    // Never both at once: each start is followed by its end.
    expect(h.lines()).toEqual(['start o-9', 'end o-9', 'start o-9', 'end o-9'])
    expect((await first.status()).retries + (await second.status()).retries).toBeGreaterThanOrEqual(1)
  })

  it('self.lock: a second holder is refused while the first holds; tokens only grow', async () => {
    h = await setup(combo)
    const { manual } = h.tasks
    const a = await manual.delay('report', 1_000)
    await h.clock.advance(0)
    const b = await manual.delay('report', 1_000)
    await h.clock.advance(0)
    expect(await b.get()).toBeNull()
    await h.clock.runAll()
    const held = (await a.get()) as { token: number; released: boolean }
    expect(held.released).toBe(true)
    const c = await manual.delay('report', 10)
    await h.clock.runAll()
    const later = (await c.get()) as { token: number }
    expect(later.token).toBeGreaterThan(held.token)
    expect(h.lines()).toEqual(['got report', 'busy report', 'got report'])
  })

  it('app.locks: acquire, extend, release by owner only, expiry by the clock, withLock, await using', async () => {
    h = await setup(combo)
    const { locks } = h.app
    const first = await locks.acquire('k', { ttl: 1_000 })
    expect(first).not.toBeNull()
    expect(await locks.acquire('k', { ttl: 1_000 })).toBeNull()
    expect(await first!.extend(5_000)).toBe(true)
    await h.clock.advance(4_000)
    expect(await locks.acquire('k', { ttl: 1_000 })).toBeNull()
    await h.clock.advance(1_001)
    // Expired: free for the next one, whose token is higher; the old owner can no longer act.
    const second = await locks.acquire('k', { ttl: 1_000 })
    expect(second!.token).toBeGreaterThan(first!.token)
    expect(await first!.release()).toBe(false)
    expect(await first!.extend(1_000)).toBe(false)
    expect(await second!.release()).toBe(true)
    // A waiter gets the lock when it is released.
    const holder = await locks.acquire('w', { ttl: 10_000 })
    const waiting = locks.acquire('w', { ttl: 1_000, wait: 5_000 })
    await h.clock.advance(1_000)
    await holder!.release()
    expect(await waiting).not.toBeNull()
    expect(await locks.withLock('x', { ttl: 1_000 }, async (lock) => lock.key)).toBe('x')
    {
      await using scoped = await locks.acquire('scoped', { ttl: 1_000 })
      expect(scoped).not.toBeNull()
    }
    expect(await locks.acquire('scoped', { ttl: 1_000 })).not.toBeNull()
  })

  it('bad lock input is a ConfigError: ttl <= 0, no key', async () => {
    h = await setup(combo)
    await expect(h.app.locks.acquire('k', { ttl: 0 })).rejects.toBeInstanceOf(ConfigError)
    await expect(h.app.locks.acquire('k', { ttl: -5 })).rejects.toBeInstanceOf(ConfigError)
    await expect(h.app.locks.acquire('', { ttl: 10 })).rejects.toBeInstanceOf(ConfigError)
    expect(() => h.app.task('op.badLock', { lock: { key: () => 'k', ttl: 0 } }, () => 1)).toThrow(ConfigError)
  })

  // ---- rate limits --------------------------------------------------------------------------

  it("'6/m' lets exactly 6 through in the first minute, one every 10 s, and a free task is not held back", async () => {
    h = await setup(combo)
    const { limited, free } = h.tasks
    const runs = []
    for (let i = 0; i < 10; i++) runs.push(await limited.delay(i))
    const other = await free.delay('now')
    expect(await other.get()).toBe('now')
    await h.clock.advance(60 * SECOND - 1)
    expect(h.lines().filter((l) => l.startsWith('limited'))).toEqual(['limited 0', 'limited 1', 'limited 2', 'limited 3', 'limited 4', 'limited 5'])
    expect(h.lines().indexOf('free now')).toBeLessThan(h.lines().indexOf('limited 1'))
    await h.clock.advance(40 * SECOND)
    for (const r of runs) expect(await r.state()).toBe(states.SUCCESS)
  })

  it('control.rateLimit changes the limit live; a bad rate is a ConfigError', async () => {
    h = await setup(combo)
    const { limited } = h.tasks
    h.app.control.rateLimit('op.limited', '1/s')
    for (let i = 0; i < 5; i++) await limited.delay(i)
    await h.clock.advance(4 * SECOND)
    expect(h.lines()).toHaveLength(5)
    expect(() => h.app.control.rateLimit('op.limited', '10/x' as '10/s')).toThrow(ConfigError)
    expect(() => h.app.task('op.badRate', { rateLimit: 'fast' as '1/s' }, () => 1)).toThrow(ConfigError)
  })

  it("the dynamic pattern: a task catches the API's RateLimitError and retries after retryAfter", async () => {
    h = await setup(combo)
    const retried: number[] = []
    h.app.events.on('task-retried', (e) => retried.push(e.eta - e.timestamp))
    const r = await h.tasks.callApi.delay(30 * SECOND)
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.RETRY)
    await h.clock.advance(30 * SECOND)
    expect(await r.get()).toBe('called on try 1')
    expect(retried).toEqual([30 * SECOND])
  })

  // ---- revocation ------------------------------------------------------------------------

  it('revoke before start: the task never runs and is REVOKED', async () => {
    h = await setup(combo)
    const r = await h.tasks.free.applyAsync(['later'], { countdown: 5 * SECOND })
    await r.revoke()
    await h.clock.runAll()
    expect(await r.state()).toBe(states.REVOKED)
    await expect(r.get()).rejects.toBeInstanceOf(TaskRevokedError)
    expect(h.lines()).toEqual([])
    expect(h.app.inspect.revoked()).toContain(r.id)
  })

  it('revoke of an unknown id is remembered: a later send with that id never runs', async () => {
    h = await setup(combo)
    await h.app.control.revoke('future-id')
    const r = await h.tasks.free.applyAsync(['x'], { taskId: 'future-id' })
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.REVOKED)
    expect(h.lines()).toEqual([])
  })

  it('terminate of a cooperative running task: its signal aborts, it ends REVOKED', async () => {
    h = await setup(combo)
    const r = await h.tasks.cooperative.delay(100)
    await h.clock.advance(0)
    expect(await r.state()).toBe(states.STARTED)
    await h.app.control.revoke(r.id, { terminate: true })
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.REVOKED)
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRevokedError)
    expect((error as TaskRevokedError).reason).toBe('terminated')
    if (combo.name.includes('inline')) {
      // Inline there is no thread to kill: the task saw its signal abort and stopped itself.
      await h.clock.advance(SECOND)
      expect(h.lines()).toEqual(['working', 'aborted: TaskRevokedError true'])
    }
  })

  // ---- time limits ------------------------------------------------------------------------

  it('soft time limit caught by the task: its own result', async () => {
    h = await setup(combo)
    const r = await h.tasks.softCaught.delay()
    await h.clock.runAll()
    expect(await r.get()).toBe('partial after 3')
  })

  it('soft time limit not caught: FAILURE with SoftTimeLimitExceeded (send option)', async () => {
    h = await setup(combo)
    const r = await h.tasks.cooperative.applyAsync([100], { softTimeLimit: 2_500 })
    await h.clock.runAll()
    await expect(r.get()).rejects.toBeInstanceOf(SoftTimeLimitExceeded)
    expect(h.lines()).toEqual(['working', 'aborted: SoftTimeLimitExceeded true'])
  })

  it('hard time limit: FAILURE with TimeLimitExceeded, whatever the task does (send option and control.timeLimit)', async () => {
    h = await setup(combo)
    const r = await h.tasks.stubborn.applyAsync([60 * SECOND], { timeLimit: 3 * SECOND })
    await h.clock.advance(3 * SECOND)
    await h.app.whenIdle()
    await expect(r.get()).rejects.toBeInstanceOf(TimeLimitExceeded)
    h.app.control.timeLimit('op.stubborn', { hard: 2 * SECOND })
    const second = await h.tasks.stubborn.delay(60 * SECOND)
    await h.clock.advance(2 * SECOND)
    await h.app.whenIdle()
    await expect(second.get()).rejects.toBeInstanceOf(TimeLimitExceeded)
  })

  it('timeLimit below softTimeLimit is a ConfigError, as a task option and as a send option', async () => {
    h = await setup(combo)
    expect(() => h.app.task('op.badLimits', { timeLimit: 1_000, softTimeLimit: 2_000 }, () => 1)).toThrow(ConfigError)
    await expect(h.tasks.napper.applyAsync([1], { timeLimit: 1_000, softTimeLimit: 2_000 })).rejects.toBeInstanceOf(ConfigError)
  })

  // ---- progress ---------------------------------------------------------------------------

  it('progress: state and info while running; the iterator yields 1..N in order and ends when ready', async () => {
    h = await setup(combo)
    const r = await h.tasks.stepped.delay(5)
    const updates: StateUpdate[] = []
    const reading = (async () => {
      for await (const update of r.progress()) updates.push(update)
    })()
    await h.clock.advance(250)
    expect(await r.state()).toBe(states.PROGRESS)
    expect(await r.info()).toMatchObject({ current: 2, total: 5 })
    await h.clock.runAll()
    await reading
    const steps = updates.filter((u) => u.state === states.PROGRESS).map((u) => (u.info as { current: number }).current)
    expect(steps).toEqual(steps.length === 5 ? [1, 2, 3, 4, 5] : steps)
    expect(steps.slice(-3)).toEqual([3, 4, 5])
    expect(updates.at(-1)!.state).toBe(states.SUCCESS)
  })

  it('updateState with a custom state and meta is visible while running', async () => {
    h = await setup(combo)
    const r = await h.tasks.custom.delay()
    await h.clock.advance(0)
    expect(await r.state()).toBe('UPLOADING')
    expect(await r.info()).toEqual({ file: 'a.csv', bytes: 10 })
    await h.clock.runAll()
    expect(await r.get()).toBe('uploaded')
  })

  // ---- events and inspect -----------------------------------------------------------------

  it('events of a retried-then-succeeded task come in the order sent, received, started, retried, started, succeeded', async () => {
    h = await setup(combo)
    const seen: string[] = []
    for (const name of ['task-sent', 'task-received', 'task-started', 'task-retried', 'task-succeeded', 'task-failed'] as const) {
      h.app.events.on(name, () => seen.push(name.slice(5)))
    }
    const r = await h.tasks.retryOnce.delay()
    await h.clock.runAll()
    expect(await r.get()).toBe('second time')
    expect(seen).toEqual(['sent', 'received', 'started', 'retried', 'started', 'succeeded'])
  })

  it('inspect shows scheduled, active and revoked tasks at each point; purge drops what waits', async () => {
    h = await setup(combo)
    const { napper, free } = h.tasks
    const later = await free.applyAsync(['later'], { countdown: 10 * SECOND })
    expect(h.app.inspect.scheduled().map((t) => t.id)).toEqual([later.id])
    const running = await napper.delay(5 * SECOND)
    await h.clock.advance(0)
    expect(h.app.inspect.active().map((t) => t.id)).toEqual([running.id])
    expect(h.app.inspect.active()[0]!.name).toBe('op.napper')
    await later.revoke()
    expect(h.app.inspect.scheduled()).toEqual([])
    expect(h.app.inspect.revoked()).toContain(later.id)
    expect(h.app.inspect.registered()).toContain('op.napper')
    await h.clock.advance(5 * SECOND)
    await h.app.whenIdle()
    expect(h.app.inspect.active()).toEqual([])
    const stats = h.app.inspect.stats()
    expect(stats.scheduled).toBe(0)
    await free.applyAsync(['a'], { countdown: SECOND })
    await free.applyAsync(['b'], { countdown: SECOND })
    expect(await h.app.control.purge()).toBe(2)
    await h.clock.runAll()
    expect(h.lines()).toEqual([])
  })
})
