/**
 * Virtual time never deadlocks: a task that waits on the engine (another task's result, its own
 * `self.sleep`) is parked, so `runAll()` and `advance()` move the clock, the task it waits for
 * runs, and a `get({ timeout })` inside a task times out on the virtual clock.
 */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, states } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

type Awaited = { value?: unknown; error?: { name: string; message: string } }

forEachCombo('virtual time', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  // Celery's `AsyncResult.get(timeout=...)` waits for the result or raises TimeoutError after
  // `timeout` (celery/result.py); under a virtual clock every engine timer is virtual, the
  // timeout of a `get()` included (DESIGN §3, celeriac/testing).
  it("a task awaiting a child's get({ timeout }) lets the child run under runAll()", async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const r = await h.tasks.rulesAwaitChild.delay(1_000, 5_000)
    await h.clock.runAll()
    expect(await r.get()).toEqual({ value: 'slept 1000' })
    // The child's sleep moved the clock; the unneeded timeout did not.
    expect(h.clock.now() - start).toBe(1_000)
    expect(h.clock.pending()).toBe(0)
  })

  // A hook runs after the outcome is in (Celery's after_return); one that sleeps waits on the
  // clock as a body does, so runAll() moves the clock for it rather than waiting forever.
  it('a hook that calls self.sleep is parked: runAll() moves the clock through it', async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const r = await h.tasks.opsSleepyHooks.delay('done')
    await h.clock.runAll()
    expect(await r.get()).toBe('done')
    expect(h.lines()).toEqual(['afterReturn SUCCESS, 500 ms later'])
    expect(h.clock.now() - start).toBe(500)
    expect(h.app.inspect.active()).toEqual([])
  })

  it('a get({ timeout }) inside a task times out on the virtual clock, and the child still finishes', async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const r = await h.tasks.rulesAwaitChild.delay(10_000, 1_000)
    await h.clock.advance(1_000)
    const outcome = (await r.get()) as Awaited
    expect(outcome.error).toMatchObject({ name: 'TimeoutError' })
    expect(h.clock.now() - start).toBe(1_000)
    const [child] = await r.children()
    expect(await child!.state()).not.toBe(states.SUCCESS)
    await h.clock.advance(9_000)
    expect(await child!.get()).toBe('slept 10000')
  })

  // Where the task context is known (Node, a one-task-at-a-time Web Worker), plain sends and
  // app.AsyncResult() inside a task wait through the run as self's do. A browser page has no async
  // context: there only self's handles park the task (NOTES, Virtual time).
  it('a task with no self, awaiting a plain send’s get({ timeout }), lets the child run; the timeout is virtual', async (context) => {
    if (!combo.asyncContext) context.skip('a browser page has no async context: only self’s handles park a task')
    h = await setup(combo)
    const start = h.clock.now()
    const done = await h.tasks.rulesAwaitChildPlain.delay(1_000, 5_000)
    const late = await h.tasks.rulesAwaitChildPlain.delay(10_000, 1_000)
    await h.clock.runAll()
    expect(await done.get()).toEqual({ value: 'slept 1000' })
    expect(((await late.get()) as Awaited).error).toMatchObject({ name: 'TimeoutError' })
    expect(h.clock.now() - start).toBe(10_000)
    expect(h.clock.pending()).toBe(0)
  })

  it("a task awaiting an id that never comes times out under runAll(), by the timeout's virtual time", async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const r = await h.tasks.rulesAwaitId.delay('never-sent', 5_000)
    await h.clock.runAll()
    expect(((await r.get()) as Awaited).error).toMatchObject({ name: 'TimeoutError' })
    expect(h.clock.now() - start).toBe(5_000)
  })

  it('a task awaiting a result that is already stored gets it without the clock moving', async () => {
    h = await setup(combo)
    const done = await h.tasks.coreAdd.delay(2, 3)
    await done.get()
    const start = h.clock.now()
    const r = await h.tasks.rulesAwaitId.delay(done.id, 60_000)
    await h.clock.runAll()
    expect(await r.get()).toEqual({ value: 5 })
    expect(h.clock.now()).toBe(start)
  })

  it('several tasks awaiting children that sleep: advance() steps them in time order', async () => {
    h = await setup(combo)
    const a = await h.tasks.rulesAwaitChild.delay(3_000, 10_000)
    const b = await h.tasks.rulesAwaitChild.delay(1_000, 10_000)
    await h.clock.advance(1_000)
    expect(await b.get()).toEqual({ value: 'slept 1000' })
    expect(await a.ready()).toBe(false)
    await h.clock.advance(2_000)
    expect(await a.get()).toEqual({ value: 'slept 3000' })
  })

  it("a task follows a child's progress() under runAll(); one that stops following early is not left waiting", async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const all = await h.tasks.rulesFollow.delay(3, null)
    await h.clock.runAll()
    const seen = (await all.get()) as string[]
    expect(seen[seen.length - 1]).toBe(states.SUCCESS)
    expect(seen.filter((s) => s.startsWith('PROGRESS'))).toEqual(['PROGRESS 33', 'PROGRESS 66', 'PROGRESS 100'])
    expect(h.clock.now() - start).toBe(300)
    const first = await h.tasks.rulesFollow.delay(3, 1)
    await h.clock.runAll()
    expect(await first.get()).toHaveLength(1)
    expect(h.clock.pending()).toBe(0)
  })

  // Celery's soft time limit raises SoftTimeLimitExceeded inside whatever the task is blocked in.
  it("a soft time limit interrupts a task's wait for a result", async () => {
    h = await setup(combo)
    const start = h.clock.now()
    const r = await h.tasks.rulesAwaitLimited.delay(5_000)
    await h.clock.advance(500)
    expect(((await r.get()) as Awaited).error).toMatchObject({ name: 'SoftTimeLimitExceeded' })
    expect(h.clock.now() - start).toBe(500)
    await h.clock.runAll()
  })

  it("a task's handles revoke and forget through the engine", async () => {
    h = await setup(combo)
    const revoker = await h.tasks.rulesRevokeChild.delay(5_000)
    await h.clock.runAll()
    const revoked = h.app.AsyncResult((await revoker.get()) as string)
    expect(await revoked.state()).toBe(states.REVOKED)
    const forgetter = await h.tasks.rulesForgetChild.delay()
    await h.clock.runAll()
    const { value, ids } = (await forgetter.get()) as { value: number; ids: string[] }
    expect(value).toBe(4)
    for (const id of ids) expect(await h.app.AsyncResult(id).state()).toBe(states.PENDING)
  })

  it('self.sleep(NaN), a negative or a non-number ms rejects with a ConfigError naming ms', async () => {
    h = await setup(combo)
    for (const bad of [Number.NaN, -1, '5', Number.POSITIVE_INFINITY]) {
      const r = await h.tasks.rulesBadSleep.delay(bad)
      await h.clock.runAll()
      const error = (await r.get()) as { name: string; code: string; message: string }
      expect(error).toMatchObject({ name: 'ConfigError', code: new ConfigError('x').code })
      expect(error.message).toMatch(/\bms\b/)
    }
    expect(h.clock.pending()).toBe(0)
  })
})
