/**
 * `app.inspect` (active, scheduled, reserved, revoked, registered, stats) at each point of a
 * task's life, and `app.control.purge`, with Celery's meanings: active = executing now, reserved
 * = received and waiting to execute, scheduled = waiting for an eta.
 */
import { afterEach, expect, it } from 'vitest'
import { states } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

forEachCombo('inspect', (combo) => {
  let h: Harness
  // A worker pool reports its health under `pool` (Celery's stats has its pool too); inline has none.
  const pool = combo.name.includes('inline')
    ? null
    : { size: 2, live: 2, loading: 0, failedLoads: 0, lastLoadError: null, replaced: 0, nextLoadAt: null, failing: false }
  afterEach(async () => h.stop())

  it('active, reserved, scheduled, revoked and stats are right at each point', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    const { inspect } = h.app
    const t0 = h.clock.now()
    expect(inspect.active()).toEqual([])
    expect(inspect.reserved()).toEqual([])
    expect(inspect.scheduled()).toEqual([])
    expect(inspect.revoked()).toEqual([])
    expect(inspect.stats()).toEqual({ running: 0, ready: 0, scheduled: 0, parked: 0, paused: 0, pool })

    const blocker = await h.tasks.opsNapper.delay(5 * SECOND)
    const q1 = await h.tasks.opsFree.delay('q1')
    const q2 = await h.tasks.opsFree.applyAsync(['q2'], { priority: 3 })
    const later = await h.tasks.opsFree.applyAsync(['later'], { countdown: 60 * SECOND })
    await h.clock.advance(0)
    expect(inspect.active()).toEqual([
      {
        id: blocker.id,
        name: 'ops.napper',
        args: [5 * SECOND],
        queue: 'default',
        priority: 0,
        eta: null,
        expires: null,
        retries: 0,
        parentId: null,
        rootId: blocker.id,
      },
    ])
    // Waiting for the slot, in the order they will run (priority first).
    expect(inspect.reserved().map((t) => [t.id, t.args[0], t.priority])).toEqual([
      [q2.id, 'q2', 3],
      [q1.id, 'q1', 0],
    ])
    expect(inspect.scheduled()).toEqual([
      {
        id: later.id,
        name: 'ops.free',
        args: ['later'],
        queue: 'default',
        priority: 0,
        eta: t0 + 60 * SECOND,
        expires: null,
        retries: 0,
        parentId: null,
        rootId: later.id,
      },
    ])
    expect(inspect.stats()).toEqual({ running: 1, ready: 2, scheduled: 1, parked: 1, paused: 0, pool })

    await q2.revoke()
    expect(inspect.reserved().map((t) => t.id)).toEqual([q1.id])
    expect(inspect.revoked()).toEqual([q2.id])
    expect(inspect.stats()).toMatchObject({ running: 1, ready: 1, scheduled: 1 })

    await h.clock.advance(5 * SECOND)
    expect(await blocker.get()).toBe(5 * SECOND)
    expect(await q1.get()).toBe('q1')
    expect(inspect.active()).toEqual([])
    expect(inspect.reserved()).toEqual([])
    expect(inspect.scheduled().map((t) => t.id)).toEqual([later.id])
    expect(inspect.stats()).toEqual({ running: 0, ready: 0, scheduled: 1, parked: 0, paused: 0, pool })

    // A task waiting for its retry is scheduled, with its retry count and due time.
    const retrying = await h.tasks.opsRetryLater.delay(100)
    await h.clock.advance(100)
    expect(await retrying.state()).toBe(states.RETRY)
    expect(inspect.scheduled().map((t) => [t.id, t.retries, t.eta! - t0])).toEqual([
      [retrying.id, 1, 5_100 + 10_000],
      [later.id, 0, 60_000],
    ])
    expect(inspect.active()).toEqual([])

    await h.clock.runAll()
    expect(await later.get()).toBe('later')
    expect(await retrying.get()).toBe('second attempt')
    expect(inspect.scheduled()).toEqual([])
    expect(inspect.stats()).toEqual({ running: 0, ready: 0, scheduled: 0, parked: 0, paused: 0, pool })
    expect(inspect.revoked()).toEqual([q2.id])
  })

  it('a run that is held for a worker but has not started is reserved, not active', async () => {
    // Three slots; with two single-task workers one run waits inside a worker (prefetched).
    h = await setup(combo, { queues: { default: { concurrency: 3 } } })
    const runs = [await h.tasks.opsNapper.delay(SECOND), await h.tasks.opsNapper.delay(SECOND), await h.tasks.opsNapper.delay(SECOND)]
    await h.clock.advance(0)
    const active = h.app.inspect.active().map((t) => t.id)
    const reserved = h.app.inspect.reserved().map((t) => t.id)
    expect([...active, ...reserved].sort()).toEqual(runs.map((r) => r.id).sort())
    expect(active.length).toBeGreaterThanOrEqual(1)
    for (const r of runs) {
      // Active means executing: STARTED. Reserved means not yet: PENDING.
      expect(await r.state()).toBe(active.includes(r.id) ? states.STARTED : states.PENDING)
    }
    await h.clock.runAll()
    for (const r of runs) expect(await r.get()).toBe(SECOND)
    expect(h.app.inspect.active()).toEqual([])
    expect(h.app.inspect.reserved()).toEqual([])
  })

  it('registered lists every task this app can run, sorted', async () => {
    h = await setup(combo)
    const names = h.app.inspect.registered()
    expect(names).toEqual(expect.arrayContaining(['ops.napper', 'ops.free', 'ops.limited', 'ops.dedup', 'ops.steps', 'core.add']))
    expect(names).toEqual([...names].sort())
    expect(new Set(names).size).toBe(names.length)
  })

  it('control.purge drops waiting messages (of one queue, or all) and says how many; running tasks go on', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 }, reports: { concurrency: 1 } } })
    const blockers = [await h.tasks.opsNapper.delay(SECOND), await h.tasks.opsNapper.applyAsync([SECOND], { queue: 'reports' })]
    await h.clock.advance(0)
    const d1 = await h.tasks.opsFree.delay('d1')
    const d2 = await h.tasks.opsFree.delay('d2')
    const d3 = await h.tasks.opsFree.applyAsync(['d3'], { countdown: 30 * SECOND })
    const r1 = await h.tasks.opsFree.applyAsync(['r1'], { queue: 'reports' })
    const r2 = await h.tasks.opsFree.applyAsync(['r2'], { queue: 'reports', countdown: 30 * SECOND })
    expect(await h.app.control.purge('reports')).toBe(2)
    expect(h.app.inspect.reserved().map((t) => t.id)).toEqual([d1.id, d2.id])
    expect(h.app.inspect.scheduled().map((t) => t.id)).toEqual([d3.id])
    expect(await h.app.control.purge()).toBe(3)
    expect(h.app.inspect.reserved()).toEqual([])
    expect(h.app.inspect.scheduled()).toEqual([])
    expect(h.app.inspect.active()).toHaveLength(2)
    expect(await h.app.control.purge()).toBe(0)
    await h.clock.runAll()
    for (const b of blockers) expect(await b.get()).toBe(SECOND)
    // Purged messages are gone, as from a broker queue: never run, nothing stored.
    expect(h.lines()).toEqual([])
    for (const r of [d1, d2, d3, r1, r2]) expect(await r.state()).toBe(states.PENDING)
  })

  it('control.purge also drops tasks waiting for a rate-limit token', async () => {
    h = await setup(combo)
    for (let i = 0; i < 3; i++) await h.tasks.opsLimited.delay(i)
    await h.clock.advance(0)
    expect(h.app.inspect.reserved()).toHaveLength(2)
    expect(await h.app.control.purge()).toBe(2)
    expect(h.app.inspect.reserved()).toEqual([])
    await h.clock.runAll()
    expect(h.lines()).toEqual(['limited 0'])
  })
})
