/**
 * Time limits, as in Celery: the soft limit raises `SoftTimeLimitExceeded` inside the task (here:
 * `self.signal` aborts and `self.sleep` throws it), which the task may catch; the hard limit ends
 * the task as FAILURE with `TimeLimitExceeded` whatever it does. Limits come from the task option,
 * the send option (which wins) or `control.timeLimit`, and count from when the task starts.
 */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, SoftTimeLimitExceeded, TimeLimitExceeded, states } from '../../src/index.js'
import type { TaskFailedEvent } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('should have failed'),
    (e: unknown) => e as Error,
  )
}

function failedEvents(h: Harness): TaskFailedEvent[] {
  const out: TaskFailedEvent[] = []
  h.app.events.on('task-failed', (e) => out.push(e))
  return out
}

forEachCombo('time limits', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a soft time limit the task catches: the task returns its own result, exactly at the limit', async () => {
    h = await setup(combo)
    const succeeded: number[] = []
    h.app.events.on('task-succeeded', (e) => succeeded.push(e.runtime))
    const r = await h.tasks.opsSoftCatch.delay()
    await h.clock.advance(2 * SECOND - 1)
    expect(await r.state()).toBe(states.STARTED)
    await h.clock.advance(1)
    expect(await r.state()).toBe(states.SUCCESS)
    // Three 600 ms steps done; the fourth was interrupted at 2 s.
    expect(await r.get()).toEqual({ partial: 3 })
    expect(h.lines()).toEqual(['soft limit caught: SoftTimeLimitExceeded (SOFT_TIME_LIMIT_EXCEEDED); isAborted true'])
    expect(succeeded).toEqual([2 * SECOND])
  })

  it('a soft time limit the task does not catch (send option): FAILURE with SoftTimeLimitExceeded', async () => {
    h = await setup(combo)
    const failed = failedEvents(h)
    const r = await h.tasks.opsCooperative.applyAsync(['S', 100], { softTimeLimit: 2_500 })
    await h.clock.advance(2_499)
    expect(await r.state()).toBe(states.STARTED)
    await h.clock.advance(1)
    expect(await r.state()).toBe(states.FAILURE)
    const error = await failure(r.get())
    expect(error).toBeInstanceOf(SoftTimeLimitExceeded)
    expect((error as SoftTimeLimitExceeded).code).toBe('SOFT_TIME_LIMIT_EXCEEDED')
    expect(h.lines()).toEqual(['S working', 'S aborted by SoftTimeLimitExceeded; isAborted true; signal SoftTimeLimitExceeded'])
    expect(failed.map((e) => [e.id, e.error.name, e.runtime])).toEqual([[r.id, 'SoftTimeLimitExceeded', 2_500]])
  })

  it('a hard time limit (task option): FAILURE with TimeLimitExceeded at the limit, whatever the task does', async () => {
    h = await setup(combo)
    const failed = failedEvents(h)
    const r = await h.tasks.opsHardLimited.delay(60 * SECOND)
    await h.clock.advance(3 * SECOND - 1)
    expect(await r.state()).toBe(states.STARTED)
    await h.clock.advance(1)
    expect(await r.state()).toBe(states.FAILURE)
    const error = await failure(r.get())
    expect(error).toBeInstanceOf(TimeLimitExceeded)
    expect((error as TimeLimitExceeded).code).toBe('TIME_LIMIT_EXCEEDED')
    expect(error.message).toContain('3000 ms')
    expect(failed).toHaveLength(1)
    expect(failed[0]!.error).toBeInstanceOf(TimeLimitExceeded)
    expect(failed[0]!.runtime).toBe(3 * SECOND)
    expect(h.app.inspect.active()).toEqual([])
    // The result stays FAILURE (a late outcome of the task is ignored) and the engine goes on.
    await h.clock.advance(60 * SECOND)
    expect(await r.state()).toBe(states.FAILURE)
    expect(await (await h.tasks.opsFree.delay('next')).get()).toBe('next')
  })

  it('a soft limit the task shrugs off is followed by the hard limit', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsStubborn.applyAsync([60 * SECOND], { softTimeLimit: SECOND, timeLimit: 2 * SECOND })
    await h.clock.advance(SECOND)
    expect(h.lines()).toEqual(['ignored SoftTimeLimitExceeded'])
    expect(await r.state()).toBe(states.STARTED)
    await h.clock.advance(SECOND)
    expect(await failure(r.get())).toBeInstanceOf(TimeLimitExceeded)
  })

  it('send options win over the task option, both ways', async () => {
    h = await setup(combo)
    // Task option 3 s; sent with 1 s: fails at 1 s.
    const shorter = await h.tasks.opsHardLimited.applyAsync([60 * SECOND], { timeLimit: SECOND })
    // Sent with 5 s: a 4 s run is allowed to finish.
    const longer = await h.tasks.opsHardLimited.applyAsync([4 * SECOND], { timeLimit: 5 * SECOND })
    await h.clock.advance(SECOND)
    expect(await shorter.state()).toBe(states.FAILURE)
    expect(await longer.state()).toBe(states.STARTED)
    await h.clock.advance(3 * SECOND)
    expect(await longer.get()).toBe('finished')
    expect(await failure(shorter.get())).toBeInstanceOf(TimeLimitExceeded)
  })

  it('control.timeLimit sets the limits of runs that start from then on; null clears them', async () => {
    h = await setup(combo)
    const before = await h.tasks.opsStubborn.delay(4 * SECOND)
    await h.clock.advance(0)
    h.app.control.timeLimit('ops.stubborn', { soft: SECOND, hard: 2 * SECOND })
    const limited = await h.tasks.opsStubborn.delay(4 * SECOND)
    await h.clock.advance(SECOND)
    expect(h.lines()).toEqual(['ignored SoftTimeLimitExceeded'])
    await h.clock.advance(SECOND)
    expect(await failure(limited.get())).toBeInstanceOf(TimeLimitExceeded)
    expect(await before.state()).toBe(states.STARTED)
    await h.clock.advance(2 * SECOND)
    // The run that started before the change kept its (absent) limit.
    expect(await before.get()).toBe('finished')
    h.app.control.timeLimit('ops.stubborn', { soft: null, hard: null })
    const after = await h.tasks.opsStubborn.delay(3 * SECOND)
    await h.clock.runAll()
    expect(await after.get()).toBe('finished')
  })

  it('control.timeLimit can limit a task that has no limit of its own', async () => {
    h = await setup(combo)
    h.app.control.timeLimit('ops.napper', { hard: 500 })
    const r = await h.tasks.opsNapper.delay(10 * SECOND)
    await h.clock.advance(500)
    expect(await failure(r.get())).toBeInstanceOf(TimeLimitExceeded)
  })

  it('limits count from when the task starts, not from when it was sent', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    const blocker = await h.tasks.opsNapper.delay(5 * SECOND)
    const r = await h.tasks.opsNapper.applyAsync([2 * SECOND], { timeLimit: 3 * SECOND })
    await h.clock.runAll()
    expect(await blocker.get()).toBe(5 * SECOND)
    expect(await r.get()).toBe(2 * SECOND)
  })

  // ---- bad input -------------------------------------------------------------------------

  it('timeLimit below softTimeLimit is a ConfigError naming both, as a task option, a send option and in control.timeLimit', async () => {
    h = await setup(combo)
    let thrown: unknown
    try {
      h.app.task('ops.badLimits', { timeLimit: 1_000, softTimeLimit: 2_000 }, () => 1)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as ConfigError).code).toBe('CONFIG')
    expect((thrown as Error).message).toMatch(/softTimeLimit \(2000 ms\) must not exceed timeLimit \(1000 ms\)/)
    const sent = await failure(h.tasks.opsNapper.applyAsync([1], { timeLimit: 1_000, softTimeLimit: 2_000 }))
    expect(sent).toBeInstanceOf(ConfigError)
    expect(sent.message).toContain('softTimeLimit')
    // A send's soft limit above the task's own hard limit (3 s) is refused too.
    expect(await failure(h.tasks.opsHardLimited.applyAsync([1], { softTimeLimit: 5_000 }))).toBeInstanceOf(ConfigError)
    expect(() => h.app.control.timeLimit('ops.napper', { soft: 2_000, hard: 1_000 })).toThrow(ConfigError)
    expect(() => h.app.control.timeLimit('ops.napper', { soft: 2_000, hard: 1_000 })).toThrow(/soft .* must not exceed hard/)
    // Nothing was queued or changed: the napper still has no limit.
    await h.app.whenIdle()
    expect(h.app.inspect.stats()).toMatchObject({ running: 0, ready: 0, scheduled: 0 })
    const r = await h.tasks.opsNapper.delay(5 * SECOND)
    await h.clock.runAll()
    expect(await r.get()).toBe(5 * SECOND)
  })

  it.each([
    ['0', 0],
    ['negative', -1],
    ['NaN', Number.NaN],
  ])('a %s time limit is a ConfigError everywhere', async (_label, value) => {
    h = await setup(combo)
    expect(() => h.app.task(`ops.badTimeLimit${_label}`, { timeLimit: value }, () => 1)).toThrow(ConfigError)
    expect(() => h.app.task(`ops.badSoftLimit${_label}`, { softTimeLimit: value }, () => 1)).toThrow(ConfigError)
    expect(await failure(h.tasks.opsNapper.applyAsync([1], { timeLimit: value }))).toBeInstanceOf(ConfigError)
    expect(await failure(h.tasks.opsNapper.applyAsync([1], { softTimeLimit: value }))).toBeInstanceOf(ConfigError)
    expect(() => h.app.control.timeLimit('ops.napper', { hard: value })).toThrow(ConfigError)
    expect(() => h.app.control.timeLimit('ops.napper', { soft: value })).toThrow(ConfigError)
  })
})
