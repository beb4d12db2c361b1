/** Retry: explicit and automatic, backoff and jitter under the virtual clock, limits, hooks, classes. */
import { afterEach, expect, it } from 'vitest'
import { MaxRetriesExceededError, chain, chord, states } from '../../src/index.js'
import type { GroupResult } from '../../src/index.js'
import type { TaskRetriedEvent } from '../../src/index.js'
import { BadInput, FlakyNetwork, InventoryError } from './tasks-workflows.js'
import { forEachCombo, seeded, setup } from './setup.js'
import type { Harness } from './setup.js'

/** The delay of each retry of `id`, from the task-retried events: eta minus when it was decided. */
function retryDelays(events: readonly TaskRetriedEvent[], id: string): number[] {
  return events.filter((e) => e.id === id).map((e) => e.eta - e.timestamp)
}

forEachCombo('retries', (combo) => {
  let h: Harness
  let retried: TaskRetriedEvent[]
  afterEach(async () => h.stop())

  async function start(): Promise<Harness> {
    h = await setup(combo)
    retried = []
    h.app.events.on('task-retried', (e) => retried.push(e))
    return h
  }

  it('autoretry with exponential backoff: exact delays 1 s, 2 s, 4 s; same id; RETRY between attempts', async () => {
    await start()
    const r = await h.tasks.backoff.delay(3)
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.RETRY)
    expect(((await r.status()).result as Error).name).toBe('FlakyNetwork')
    await h.clock.runAll()
    expect(await r.get()).toBe('ok after 3')
    expect(retryDelays(retried, r.id)).toEqual([1_000, 2_000, 4_000])
    expect(retried.map((e) => e.retries)).toEqual([0, 1, 2])
    expect(retried.every((e) => e.error instanceof FlakyNetwork)).toBe(true)
    expect((await r.status()).retries).toBe(3)
    // onRetry ran once per retry, before the next attempt, with the error, the id and the args.
    expect(h.lines()).toEqual([0, 1, 2].map((n) => `onRetry FlakyNetwork ${r.id} [3] ${n}`))
  })

  it('retryBackoffMax caps the delay', async () => {
    await start()
    const r = await h.tasks.backoff.delay(5)
    await h.clock.runAll()
    expect(await r.get()).toBe('ok after 5')
    expect(retryDelays(retried, r.id)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
  })

  it('retryJitter draws full jitter from the seeded random source: reproducible delays in [0, backoff]', async () => {
    await start()
    const r = await h.tasks.jittered.delay()
    await h.clock.runAll()
    expect(await r.get()).toBe('ok')
    const random = seeded(42)
    const expected = [1_000, 2_000, 4_000].map((cap) => Math.floor(random() * (cap + 1)))
    expect(retryDelays(retried, r.id)).toEqual(expected)
  })

  it('past maxRetries, an explicit retry with exc fails with that original error class', async () => {
    await start()
    const r = await h.tasks.explicit.delay(true)
    await h.clock.runAll()
    await expect(r.get()).rejects.toBeInstanceOf(InventoryError)
    expect(h.lines()).toEqual(['explicit try 0', 'explicit try 1', 'explicit try 2'])
    expect(retryDelays(retried, r.id)).toEqual([250, 250])
  })

  it('past maxRetries, a retry without exc fails with MaxRetriesExceededError', async () => {
    await start()
    const r = await h.tasks.explicit.delay(false)
    await h.clock.runAll()
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MaxRetriesExceededError)
    expect((error as MaxRetriesExceededError).code).toBe('MAX_RETRIES_EXCEEDED')
  })

  it('self.retry({ eta }) runs the next attempt at that time (epoch ms or Date), not before', async () => {
    await start()
    for (const asDate of [false, true]) {
      const at = h.clock.now() + 5_000
      const r = await h.tasks.canvasRetryAt.delay(at, asDate)
      await h.clock.advance(4_999)
      expect(await r.state()).toBe(states.RETRY)
      await h.clock.advance(1)
      expect(await r.get()).toBe(1)
      expect(retried.filter((e) => e.id === r.id).map((e) => e.eta)).toEqual([at])
    }
  })

  it('self.retry({ maxRetries }) overrides the task option for that decision', async () => {
    await start()
    // The task says maxRetries 0; the call allows 2: three runs, then MaxRetriesExceededError.
    const capped = await h.tasks.canvasRetryCap.delay(2)
    await h.clock.runAll()
    await expect(capped.get()).rejects.toBeInstanceOf(MaxRetriesExceededError)
    expect(h.lines()).toEqual(['cap try 0', 'cap try 1', 'cap try 2'])
    h.logs.length = 0
    // null: no limit for this call; the task returns on its fifth run.
    const unlimited = await h.tasks.canvasRetryCap.delay(null)
    await h.clock.runAll()
    expect(await unlimited.get()).toBe('done')
    expect(h.lines()).toEqual(['cap try 0', 'cap try 1', 'cap try 2', 'cap try 3', 'cap try 4'])
  })

  it('maxRetries: null retries as long as it takes', async () => {
    await start()
    const r = await h.tasks.patient.delay()
    await h.clock.runAll({ limit: 1_000 })
    expect(await r.get()).toBe(20)
    expect(retryDelays(retried, r.id)).toHaveLength(20)
  })

  it('autoretryFor retries a matching error; dontAutoretryFor wins over it', async () => {
    await start()
    const flaky = await h.tasks.picky.delay('flaky')
    await h.clock.runAll()
    await expect(flaky.get()).rejects.toBeInstanceOf(FlakyNetwork)
    const bad = await h.tasks.picky.delay('bad')
    await h.clock.runAll()
    await expect(bad.get()).rejects.toBeInstanceOf(BadInput)
    expect(h.lines()).toEqual(['picky flaky try 0', 'picky flaky try 1', 'picky flaky try 2', 'picky bad try 0'])
    expect(retryDelays(retried, flaky.id)).toEqual([100, 100])
    expect(retryDelays(retried, bad.id)).toEqual([])
  })

  it('a retry inside a chain keeps its place: the next step gets the retried result', async () => {
    await start()
    const { add, onceFlaky } = h.tasks
    const r = await chain(add.s(1, 1), onceFlaky.s(), add.s(5)).delay()
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.PENDING)
    await h.clock.advance(1_000)
    expect(await r.get()).toBe(25)
    expect(retried.map((e) => e.id)).toEqual([r.parent!.id])
    expect(await r.parent!.get()).toBe(20)
  })

  it('a retry inside a chord header keeps its place: the body waits for it and gets the results in header order', async () => {
    await start()
    const { add, onceFlaky, canvasNote } = h.tasks
    const r = await chord([add.s(1, 1), onceFlaky.s(2), add.s(3, 3)], canvasNote.s('body')).delay()
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.PENDING)
    expect(h.lines()).toEqual([])
    await h.clock.advance(1_000)
    expect(await r.get()).toEqual([2, 20, 6])
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['note body [2,20,6]'])
    const header = r.parent as unknown as GroupResult
    expect(retried.map((e) => e.id)).toEqual([header.results[1]!.id])
    expect(await header.results[1]!.get()).toBe(20)
  })

  it("a base class's hooks run in Celery's order, for success, failure and retry", async () => {
    await start()
    const { audited } = h.tasks
    expect(await (await audited.delay('ok')).get()).toBe('ok')
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['beforeStart', 'call:enter', 'body ok try 0', 'call:exit', 'onSuccess "ok"', 'afterReturn SUCCESS'])
    h.logs.length = 0
    await expect((await audited.delay('fail')).get()).rejects.toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['beforeStart', 'call:enter', 'body fail try 0', 'call:exit', 'onFailure InventoryError', 'afterReturn FAILURE'])
    h.logs.length = 0
    const retry = await audited.delay('retry')
    await h.clock.runAll()
    expect(await retry.get()).toBe('retry')
    await h.app.whenIdle()
    expect(h.lines()).toEqual([
      'beforeStart',
      'call:enter',
      'body retry try 0',
      'call:exit',
      'onRetry Retry',
      'beforeStart',
      'call:enter',
      'body retry try 1',
      'call:exit',
      'onSuccess "retry"',
      'afterReturn SUCCESS',
    ])
    // The base class's field (defaultRetryDelay = 500) set the delay.
    expect(retryDelays(retried, retry.id)).toEqual([500])
  })

  it('class fields of a base class are the option defaults; a mixin adds behaviour', async () => {
    await start()
    expect(await (await h.tasks.auditedOptions.delay()).get()).toEqual({ maxRetries: 1, defaultRetryDelay: 500 })
    expect(await (await h.tasks.notified.delay(2)).get()).toBe(6)
    await h.app.whenIdle()
    expect(h.lines()).toContain('notify success 6')
  })
})
