/**
 * Pausing a queue (`app.control.pause` / `resume`; Celery's `cancel_consumer` / `add_consumer`,
 * BullMQ's `queue.pause()`): a paused queue still takes sends, dispatches nothing (a task running
 * in it finishes), and on resume runs what waited, highest priority first, in the order sent.
 * Other queues go on. Seen in `inspect.queues()` and in `queue-paused` / `queue-resumed` events.
 */
import { afterEach, expect, it } from 'vitest'
import { ConfigError, states } from '../../src/index.js'
import type { QueuePauseEvent } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

function pauseEvents(h: Harness): Array<[string, string, number]> {
  const out: Array<[string, string, number]> = []
  const t0 = h.clock.now()
  const on = (type: string) => (e: QueuePauseEvent) => out.push([type, e.queue, e.timestamp - t0])
  h.app.events.on('queue-paused', on('paused'))
  h.app.events.on('queue-resumed', on('resumed'))
  return out
}

forEachCombo('pause', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a paused queue takes sends and runs nothing until resumed; a running task finishes; other queues go on', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 }, other: {} } })
    const events = pauseEvents(h)
    const running = await h.tasks.opsNapper.delay(2 * SECOND)
    // Sent before the pause, waiting for the slot (on a transport: prefetched, and given back).
    const before = await h.tasks.opsFree.delay('before')
    await h.clock.advance(0)
    expect(h.app.inspect.active().map((t) => t.id)).toEqual([running.id])

    await h.app.control.pause('default')
    const first = await h.tasks.opsFree.delay('first')
    const urgent = await h.tasks.opsFree.applyAsync(['urgent'], { priority: 9 })
    const due = await h.tasks.opsFree.applyAsync(['due'], { countdown: 5 * SECOND })
    const elsewhere = await h.tasks.opsFree.applyAsync(['elsewhere'], { queue: 'other' })
    await h.clock.advance(60 * SECOND)
    // Nothing waits for the engine: a paused queue's messages wait for the resume.
    await h.app.whenIdle()
    expect(await running.get()).toBe(2 * SECOND)
    expect(await elsewhere.get()).toBe('elsewhere')
    for (const r of [before, first, urgent, due]) expect(await r.state()).toBe(states.PENDING)
    expect(h.lines()).toEqual(['free elsewhere'])
    const byName = Object.fromEntries(h.app.inspect.queues().map((q) => [q.name, q]))
    expect(byName.default).toMatchObject({ name: 'default', paused: true, pausedAt: h.clock.now() - 60 * SECOND, concurrency: 1, active: 0 })
    expect(byName.other).toMatchObject({ name: 'other', paused: false, pausedAt: null, active: 0, reserved: 0 })
    if (combo.transport === undefined) {
      // `ready` counts what waits in the paused queue (as reserved() lists it); `paused` says how
      // much of it waits for the resume. A transport gave its prefetch back to the broker.
      expect(h.app.inspect.stats()).toMatchObject({ ready: 4, paused: 4 })
      // This process's reply to inspect.cluster() carries its queues, the paused one marked.
      const replies = Object.values(await h.app.inspect.cluster())
      expect(replies).toHaveLength(1)
      expect(replies[0]!.queues).toEqual(h.app.inspect.queues())
      expect(replies[0]!.stats).toMatchObject({ ready: 4, paused: 4 })
    }

    await h.app.control.resume('default')
    await h.clock.runAll()
    expect(await before.get()).toBe('before')
    expect(await urgent.get()).toBe('urgent')
    expect(await first.get()).toBe('first')
    expect(await due.get()).toBe('due')
    expect(h.lines().slice(1).sort()).toEqual(['free before', 'free due', 'free first', 'free urgent'])
    // In process, one at a time: highest priority first, then in the order sent (the countdown's
    // fell due last). A transport's broker orders what it gives back its own way.
    if (combo.transport === undefined) expect(h.lines().slice(1)).toEqual(['free urgent', 'free before', 'free first', 'free due'])
    expect(h.app.inspect.queues().find((q) => q.name === 'default')).toMatchObject({ paused: false, pausedAt: null, reserved: 0 })
    expect(events).toEqual([
      ['paused', 'default', 0],
      ['resumed', 'default', 60 * SECOND],
    ])
  })

  it('pause and resume are idempotent: a second call changes nothing and emits nothing', async () => {
    h = await setup(combo)
    const events = pauseEvents(h)
    await h.app.control.pause('default')
    await h.app.control.pause('default')
    expect(h.app.inspect.queues().map((q) => [q.name, q.paused])).toEqual([['default', true]])
    await h.app.control.resume('default')
    await h.app.control.resume('default')
    expect(h.app.inspect.queues().map((q) => [q.name, q.paused])).toEqual([['default', false]])
    expect(events.map(([type]) => type)).toEqual(['paused', 'resumed'])
    const r = await h.tasks.opsFree.delay('after')
    await h.clock.runAll()
    expect(await r.get()).toBe('after')
  })

  it('a queue the app does not declare, or no queue name, is a ConfigError that says what to do', async () => {
    h = await setup(combo, { queues: { default: {}, emails: {} } })
    const error = await h.app.control.pause('emial').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect((error as Error).message).toContain('unknown queue; name one the app declares in its queues (default, emails)')
    await expect(h.app.control.resume('emial')).rejects.toBeInstanceOf(ConfigError)
    await expect(h.app.control.pause('' as string)).rejects.toBeInstanceOf(ConfigError)
    await expect(h.app.control.pause(undefined as unknown as string)).rejects.toBeInstanceOf(ConfigError)
    expect(h.app.inspect.queues().map((q) => [q.name, q.paused])).toEqual([
      ['default', false],
      ['emails', false],
    ])
  })
})
