/**
 * Progress: `self.progress(i, n)` and `self.updateState(state, meta)` are visible through
 * `state()`/`info()` while the task runs, as `task-progress` events, and through the
 * `result.progress()` async iterator, which yields every update in order and ends when the task
 * is ready.
 */
import { afterEach, expect, it } from 'vitest'
import { states } from '../../src/index.js'
import type { AsyncResult, StateUpdate, TaskProgressEvent } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

/** Reads `r.progress()` to its end in the background. */
function collect(r: AsyncResult<unknown>): { updates: StateUpdate[]; done: Promise<void>; ended: () => boolean } {
  const updates: StateUpdate[] = []
  let ended = false
  const done = (async () => {
    for await (const update of r.progress()) updates.push(update)
    ended = true
  })()
  return { updates, done, ended: () => ended }
}

/** The updates without STARTED (recorded where storage keeps it; it comes first when it is there). */
function withoutStarted(updates: readonly StateUpdate[]): StateUpdate[] {
  const firstOther = updates.findIndex((u) => u.state !== states.STARTED)
  expect(updates.slice(firstOther).some((u) => u.state === states.STARTED)).toBe(false)
  return updates.filter((u) => u.state !== states.STARTED)
}

forEachCombo('progress', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('self.progress(i, n) is the state and info while running, step by step', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsSteps.delay(4)
    await h.clock.advance(0)
    expect(await r.state()).toBe(states.STARTED)
    for (let i = 1; i <= 4; i++) {
      await h.clock.advance(100)
      if (i < 4) {
        expect(await r.state()).toBe(states.PROGRESS)
        expect(await r.info()).toEqual({ step: `step ${i}`, current: i, total: 4, percent: i * 25 })
        expect(await r.ready()).toBe(false)
      }
    }
    expect(await r.state()).toBe(states.SUCCESS)
    expect(await r.info()).toBe(4)
  })

  it('result.progress() yields 1..N in order and ends when the task is ready', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsSteps.delay(5)
    const first = collect(r)
    const second = collect(r)
    await h.clock.advance(250)
    expect(first.ended()).toBe(false)
    expect(withoutStarted(first.updates).map((u) => (u.info as { current: number }).current)).toEqual([1, 2])
    await h.clock.advance(250)
    await first.done
    await second.done
    for (const reader of [first, second]) {
      const updates = withoutStarted(reader.updates)
      expect(updates.map((u) => u.state)).toEqual([...Array<string>(5).fill(states.PROGRESS), states.SUCCESS])
      expect(updates.slice(0, 5).map((u) => u.info)).toEqual([1, 2, 3, 4, 5].map((i) => ({ step: `step ${i}`, current: i, total: 5, percent: i * 20 })))
      expect(updates.at(-1)!.info).toBe(5)
    }
  })

  it('result.progress() misses nothing when updates come back to back', async () => {
    h = await setup(combo)
    // The reader is there before the task starts (progress() yields from the moment it is called).
    const r = await h.tasks.opsBurst.applyAsync([40], { countdown: 1_000 })
    const reader = collect(r)
    await h.clock.runAll()
    await reader.done
    const updates = withoutStarted(reader.updates)
    expect(updates.slice(0, -1).map((u) => (u.info as { current: number }).current)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect(updates.at(-1)).toEqual({ state: states.SUCCESS, info: 'burst 40' })
  })

  it('result.progress() on a finished task yields its final state once and ends', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsSteps.delay(2)
    await h.clock.runAll()
    const reader = collect(r)
    await reader.done
    expect(reader.updates).toEqual([{ state: states.SUCCESS, info: 2 }])
  })

  it('result.progress() ends with the FAILURE, its error as info', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsProgressThenFail.applyAsync([], { countdown: 1_000 })
    const reader = collect(r)
    await h.clock.runAll()
    await reader.done
    const updates = withoutStarted(reader.updates)
    expect(updates.map((u) => u.state)).toEqual([states.PROGRESS, states.FAILURE])
    expect(updates[0]!.info).toEqual({ current: 1, total: 2, percent: 50 })
    expect(updates[1]!.info).toBeInstanceOf(TypeError)
    expect((updates[1]!.info as Error).message).toBe('broken halfway')
    await expect(r.get()).rejects.toBeInstanceOf(TypeError)
  })

  it('updateState with custom states and meta (a Date included) is visible while running and as task-progress events', async () => {
    h = await setup(combo)
    const events: TaskProgressEvent[] = []
    h.app.events.on('task-progress', (e) => events.push(e))
    const t0 = h.clock.now()
    const r = await h.tasks.opsUpload.delay('a.csv')
    await h.clock.advance(0)
    expect(await r.state()).toBe('UPLOADING')
    expect(await r.info()).toEqual({ file: 'a.csv', bytes: 0, since: new Date(0) })
    expect(((await r.info()) as { since: unknown }).since).toBeInstanceOf(Date)
    await h.clock.advance(100)
    expect(await r.info()).toEqual({ file: 'a.csv', bytes: 512, since: new Date(0) })
    await h.clock.advance(100)
    expect(await r.state()).toBe('VERIFYING')
    expect((await r.status()).result).toEqual({ file: 'a.csv' })
    await h.clock.advance(100)
    expect(await r.get()).toBe('uploaded a.csv')
    expect(events.map((e) => [e.id, e.name, e.state, e.timestamp - t0])).toEqual([
      [r.id, 'ops.upload', 'UPLOADING', 0],
      [r.id, 'ops.upload', 'UPLOADING', 100],
      [r.id, 'ops.upload', 'VERIFYING', 200],
    ])
    expect(events.map((e) => e.meta)).toEqual([
      { file: 'a.csv', bytes: 0, since: new Date(0) },
      { file: 'a.csv', bytes: 512, since: new Date(0) },
      { file: 'a.csv' },
    ])
  })

  it('task-progress events carry self.progress meta with the percent', async () => {
    h = await setup(combo)
    const events: TaskProgressEvent[] = []
    h.app.events.on('task-progress', (e) => events.push(e))
    const r = await h.tasks.opsSteps.delay(3)
    await h.clock.runAll()
    expect(await r.get()).toBe(3)
    expect(events.map((e) => [e.state, e.meta])).toEqual([
      [states.PROGRESS, { step: 'step 1', current: 1, total: 3, percent: 33 }],
      [states.PROGRESS, { step: 'step 2', current: 2, total: 3, percent: 66 }],
      [states.PROGRESS, { step: 'step 3', current: 3, total: 3, percent: 100 }],
    ])
    expect(new Set(events.map((e) => e.id))).toEqual(new Set([r.id]))
  })
})
