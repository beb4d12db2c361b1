/**
 * Rate limits, as Celery's worker applies them: a token bucket per task name with capacity 1, so
 * executions are evenly spaced with no burst; a limited task waits without holding a slot, and
 * other tasks pass it; `control.rateLimit` changes it live; the dynamic pattern retries after the
 * API's Retry-After.
 */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, states } from '../../src/index.js'
import type { TaskRetriedEvent } from '../../src/index.js'
import { ApiRateLimitError } from './tasks-ops.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000
const MINUTE = 60 * SECOND

/** Start times (ms after `t0`) of each task name, from `task-started` events. */
function startTimes(h: Harness, t0: number): Map<string, number[]> {
  const out = new Map<string, number[]>()
  h.app.events.on('task-started', (e) => {
    const list = out.get(e.name) ?? []
    list.push(e.timestamp - t0)
    out.set(e.name, list)
  })
  return out
}

forEachCombo('rate limits', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it("'6/m' lets exactly 6 through in the first minute, then one every 10 s; a free task in the same queue is not held back", async () => {
    // One slot: a limited task waiting for its token must not hold it.
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    const { opsLimited, opsFree } = h.tasks
    const t0 = h.clock.now()
    const started = startTimes(h, t0)
    const runs = []
    for (let i = 0; i < 10; i++) runs.push(await opsLimited.delay(i))
    const free = await opsFree.delay('now')
    await h.clock.advance(0)
    expect(await free.state()).toBe(states.SUCCESS)
    expect(started.get('ops.free')).toEqual([0])
    expect(h.lines()).toEqual(['limited 0', 'free now'])
    // The nine others wait for tokens: reserved, not scheduled.
    expect(h.app.inspect.reserved().map((t) => t.args[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(h.app.inspect.scheduled()).toEqual([])
    await h.clock.advance(25 * SECOND)
    // Another free task, sent while the limited ones wait, runs at once too.
    const later = await h.tasks.opsFree.delay('at 25 s')
    await h.clock.advance(0)
    expect(await later.get()).toBe('at 25 s')
    expect(started.get('ops.free')).toEqual([0, 25 * SECOND])
    await h.clock.advance(MINUTE - 25 * SECOND - 1)
    expect(h.lines().filter((l) => l.startsWith('limited'))).toEqual(['limited 0', 'limited 1', 'limited 2', 'limited 3', 'limited 4', 'limited 5'])
    await h.clock.advance(1)
    expect(h.lines().filter((l) => l.startsWith('limited'))).toHaveLength(7)
    await h.clock.runAll()
    for (const [i, r] of runs.entries()) expect(await r.get()).toBe(i)
    // Evenly spaced, in the order sent: no burst.
    expect(started.get('ops.limited')).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90].map((s) => s * SECOND))
  })

  it('the token is per task name: a limited task does not slow another limited task', async () => {
    h = await setup(combo)
    const { opsLimited, opsFree } = h.tasks
    const t0 = h.clock.now()
    const started = startTimes(h, t0)
    h.app.control.rateLimit('ops.free', '2/s')
    for (let i = 0; i < 3; i++) await opsLimited.delay(i)
    for (let i = 0; i < 3; i++) await opsFree.delay(`f${i}`)
    await h.clock.runAll()
    expect(started.get('ops.limited')).toEqual([0, 10 * SECOND, 20 * SECOND])
    expect(started.get('ops.free')).toEqual([0, 500, 1_000])
  })

  it('control.rateLimit changes the rate live: a fresh bucket (the next one runs at once), then the new spacing; null removes it', async () => {
    h = await setup(combo)
    const { opsLimited, opsFree } = h.tasks
    const t0 = h.clock.now()
    const started = startTimes(h, t0)
    for (let i = 0; i < 5; i++) await opsLimited.delay(i)
    await h.clock.advance(SECOND)
    expect(h.lines()).toEqual(['limited 0'])
    // As Celery's rate_limit control command: the task gets a new token bucket at the new rate.
    h.app.control.rateLimit('ops.limited', '1/s')
    await h.clock.advance(0)
    expect(h.lines()).toEqual(['limited 0', 'limited 1'])
    await h.clock.advance(3 * SECOND)
    expect(started.get('ops.limited')).toEqual([0, 1, 2, 3, 4].map((s) => s * SECOND))
    // null: no limit at all.
    h.app.control.rateLimit('ops.limited', null)
    for (let i = 5; i < 8; i++) await opsLimited.delay(i)
    await h.clock.advance(0)
    expect(started.get('ops.limited')!.slice(5)).toEqual([4 * SECOND, 4 * SECOND, 4 * SECOND])
    // A number is executions per second; an unlimited task can be limited live.
    h.app.control.rateLimit('ops.free', 4)
    for (let i = 0; i < 3; i++) await opsFree.delay(`f${i}`)
    await h.clock.runAll()
    expect(started.get('ops.free')).toEqual([4 * SECOND, 4 * SECOND + 250, 4 * SECOND + 500])
  })

  it('the dynamic pattern: the task catches the API error and retries after its retryAfter', async () => {
    h = await setup(combo)
    const retried: TaskRetriedEvent[] = []
    h.app.events.on('task-retried', (e) => retried.push(e))
    const t0 = h.clock.now()
    const r = await h.tasks.opsCallApi.delay(30 * SECOND, 1)
    await h.clock.advance(0)
    expect(await r.state()).toBe(states.RETRY)
    const cause = await r.info()
    expect(cause).toBeInstanceOf(ApiRateLimitError)
    expect((cause as ApiRateLimitError).retryAfter).toBe(30 * SECOND)
    expect(retried).toHaveLength(1)
    expect(retried[0]!.eta).toBe(t0 + 30 * SECOND)
    expect(retried[0]!.error).toBeInstanceOf(ApiRateLimitError)
    await h.clock.advance(30 * SECOND - 1)
    expect(await r.state()).toBe(states.RETRY)
    expect(h.lines()).toEqual([])
    await h.clock.advance(1)
    expect(await r.get()).toBe('called on try 1')
    expect((await r.status()).retries).toBe(1)
    // Rate limited twice: it comes back after each retryAfter.
    const twice = await h.tasks.opsCallApi.delay(5 * SECOND, 2)
    const t1 = h.clock.now()
    await h.clock.runAll()
    expect(await twice.get()).toBe('called on try 2')
    expect(retried.slice(1).map((e) => e.eta - t1)).toEqual([5 * SECOND, 10 * SECOND])
  })

  it.each([
    ['10/x', '10/x'],
    ['fast', 'fast'],
    ['a day unit', '1/d'],
    ['a negative count', '-1/s'],
    ['a negative number', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('a bad rate (%s) is a ConfigError with code CONFIG, live and as a task option; the old limit stays', async (_label, rate) => {
    h = await setup(combo)
    let live: unknown
    try {
      h.app.control.rateLimit('ops.limited', rate as '1/s')
    } catch (e) {
      live = e
    }
    expect(live).toBeInstanceOf(ConfigError)
    expect((live as ConfigError).code).toBe('CONFIG')
    expect((live as Error).message).toContain('rate')
    expect(() => h.app.task(`ops.badRate${String(_label)}`, { rateLimit: rate as '1/s' }, () => 1)).toThrow(ConfigError)
    // Still six a minute.
    const t0 = h.clock.now()
    const started = startTimes(h, t0)
    for (let i = 0; i < 2; i++) await h.tasks.opsLimited.delay(i)
    await h.clock.runAll()
    expect(started.get('ops.limited')).toEqual([0, 10 * SECOND])
  })

  it('control.rateLimit with no task name is a ConfigError; the message of a bad rate shows the accepted forms', async () => {
    h = await setup(combo)
    expect(() => h.app.control.rateLimit('', '1/s')).toThrow(ConfigError)
    expect(() => h.app.control.rateLimit('ops.limited', '10/x' as '10/s')).toThrow(/'10\/s'.*'100\/m'.*'1\/h'/)
  })
})
