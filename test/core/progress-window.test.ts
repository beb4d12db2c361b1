/**
 * Stored progress is coalesced (ProgressWindow): a run's state updates are stored at most once
 * per 50 ms of the engine clock, the latest winning, and never after its outcome; events and
 * `result.progress()` hear every update. Seen through a storage that records each result
 * record written, on a virtual clock.
 */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, states } from '../../src/index.js'
import type { AsyncResult, StateUpdate, Task } from '../../src/index.js'
import type { Mutation, Storage, StorageKey, StoredValue, TransactStep } from '../../src/storage/types.js'
import { virtualClock } from '../../src/testing.js'
import { MemoryBacked } from './memory-backed.js'

interface Written {
  readonly state: string
  readonly current: number | undefined
  readonly at: number
}

class RecordingStorage extends MemoryBacked implements Storage {
  readonly name = 'recording'
  readonly capabilities = { durable: true, shared: false } as const
  /** Every result record written, in order. */
  readonly results: Written[] = []
  constructor(readonly now: () => number) {
    super()
  }
  write(mutations: readonly Mutation[]): Promise<void> {
    for (const m of mutations) {
      if (m.op !== 'put' || m.ns !== 'results') continue
      const record = m.value as { state: string; result: { current?: number } | null }
      this.results.push({ state: record.state, current: record.result?.current, at: this.now() })
    }
    return this.inner.write(mutations)
  }
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    return this.inner.transact(keys, step)
  }
}

let app: Celeriac | undefined
afterEach(async () => {
  await app?.stop()
  app = undefined
})

async function setup(): Promise<{ app: Celeriac; storage: RecordingStorage; clock: ReturnType<typeof virtualClock>; t0: number }> {
  const clock = virtualClock()
  const storage = new RecordingStorage(() => clock.now())
  app = new Celeriac({ storage, clock })
  await app.start()
  return { app, storage, clock, t0: clock.now() }
}

function progressWrites(storage: RecordingStorage): Written[] {
  return storage.results.filter((w) => w.state === states.PROGRESS)
}

/** Reads `r.progress()` to its end in the background. */
function collect(r: AsyncResult<unknown>): { updates: StateUpdate[]; done: Promise<void> } {
  const updates: StateUpdate[] = []
  const done = (async () => {
    for await (const update of r.progress()) updates.push(update)
  })()
  return { updates, done }
}

it('100 updates in one instant store one progress record, then the outcome; events and progress() hear all 100', async () => {
  const { app, storage, clock } = await setup()
  const burst = app.task('t.burst', { bind: true }, (self: Task) => {
    for (let i = 1; i <= 100; i++) self.progress(i, 100)
    return 'done'
  })
  const heard: number[] = []
  app.events.on('task-progress', (e) => heard.push((e.meta as { current: number }).current))
  const r = await burst.applyAsync([], { countdown: 10 })
  const reader = collect(r)
  await clock.runAll()
  await reader.done
  expect(await r.get()).toBe('done')
  expect(heard).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
  const followed = reader.updates.filter((u) => u.state === states.PROGRESS).map((u) => (u.info as { current: number }).current)
  expect(followed).toEqual(heard)
  // The first is stored at once; the 99 after it, held for the window, are superseded by the outcome.
  expect(progressWrites(storage).map((w) => w.current)).toEqual([1])
  expect(storage.results.at(-1)!.state).toBe(states.SUCCESS)
})

it('the latest held update is stored when the window ends, before the outcome', async () => {
  const { app, storage, clock, t0 } = await setup()
  const slow = app.task('t.slow', { bind: true }, async (self: Task) => {
    for (let i = 1; i <= 100; i++) self.progress(i, 100)
    await self.sleep(200)
    return 'done'
  })
  const r = await slow.delay()
  await clock.runAll()
  expect(await r.get()).toBe('done')
  expect(progressWrites(storage).map((w) => [w.current, w.at - t0])).toEqual([
    [1, 0],
    [100, 50],
  ])
  expect(storage.results.at(-1)).toEqual({ state: states.SUCCESS, current: undefined, at: t0 + 200 })
})

it('an update every ms for 100 ms is stored at most once per 50 ms window, the latest each time', async () => {
  const { app, storage, clock, t0 } = await setup()
  const steady = app.task('t.steady', { bind: true }, async (self: Task) => {
    for (let i = 1; i <= 100; i++) {
      self.progress(i, 100)
      await self.sleep(1)
    }
    await self.sleep(100)
    return 'done'
  })
  let heard = 0
  app.events.on('task-progress', () => heard++)
  const r = await steady.delay()
  await clock.runAll()
  expect(await r.get()).toBe('done')
  expect(heard).toBe(100)
  const writes = progressWrites(storage)
  expect(writes.map((w) => [w.current, w.at - t0])).toEqual([
    [1, 0],
    [50, 50],
    [100, 100],
  ])
  for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(50)
  expect(storage.results.at(-1)!.state).toBe(states.SUCCESS)
})

it('an update and the outcome in the same tick leave the outcome last in storage', async () => {
  const { app, storage, clock } = await setup()
  const quick = app.task('t.quick', { bind: true }, async (self: Task) => {
    self.progress(1, 2)
    await self.sleep(10)
    self.progress(2, 2)
    return 'done'
  })
  const r = await quick.delay()
  await clock.runAll()
  expect(await r.get()).toBe('done')
  const last = storage.results.findLastIndex((w) => w.state === states.PROGRESS)
  const outcome = storage.results.findIndex((w) => w.state === states.SUCCESS)
  expect(last).toBeLessThan(outcome)
  expect(progressWrites(storage).map((w) => w.current)).toEqual([1])
  // No held update lands later either.
  await clock.advance(1_000)
  expect(storage.results.at(-1)!.state).toBe(states.SUCCESS)
  expect(await r.state()).toBe(states.SUCCESS)
})

it('a run that fails with an update held leaves its FAILURE last', async () => {
  const { app, storage, clock } = await setup()
  const broken = app.task('t.broken', { bind: true }, async (self: Task) => {
    self.progress(1, 3)
    self.progress(2, 3)
    await self.sleep(5)
    throw new TypeError('broken')
  })
  const r = await broken.delay()
  await clock.runAll()
  await expect(r.get()).rejects.toBeInstanceOf(TypeError)
  await clock.advance(1_000)
  expect(storage.results.map((w) => w.state).filter((s) => s !== states.STARTED)).toEqual([states.PROGRESS, states.FAILURE])
})

it('a run that reuses the id of one killed with an update held has its first update stored at once', async () => {
  const { app, storage, clock, t0 } = await setup()
  // The first run is ended by its hard time limit (not through an outcome) with an update held.
  const stuck = app.task('t.stuck', { bind: true }, async (self: Task) => {
    self.progress(1, 10)
    await self.sleep(5)
    self.progress(2, 10)
    await self.sleep(1_000)
    return 'never'
  })
  const rerun = app.task('t.rerun', { bind: true }, async (self: Task) => {
    self.progress(7, 10)
    await self.sleep(100)
    return 'done'
  })
  const first = await stuck.applyAsync([], { taskId: 'same-id', timeLimit: 10 })
  await clock.advance(20)
  expect(await first.state()).toBe(states.FAILURE)
  // Forgotten, the id can run again: within the first run's window (it ends at 50), a new run
  // of it reports progress, and storage shows it.
  await first.forget()
  await rerun.applyAsync([], { taskId: 'same-id' })
  await clock.advance(1)
  expect(await first.state()).toBe(states.PROGRESS)
  await clock.runAll()
  expect(progressWrites(storage).map((w) => [w.current, w.at - t0])).toEqual([
    [1, 0],
    [7, 20],
  ])
  expect(storage.results.at(-1)!.state).toBe(states.SUCCESS)
})
