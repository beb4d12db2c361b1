/**
 * A paused queue across restarts and handles: the pause is stored, so a queue paused before
 * `app.stop()` is still paused after `start()` (its waiting tasks stay queued, nothing runs)
 * until it is resumed; on shared storage (IndexedDB tabs) a pause made through one handle stops
 * the consumer on another. With no queues declared, any queue may be paused, as any may be sent to.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Celeriac, ConfigError, states } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { durableLocations, type Location } from './durable-locations.js'

const T0 = Date.UTC(2025, 0, 1)
const HOUR = 3_600_000
const { locations, cleanUp } = durableLocations('paused')

afterEach(cleanUp)

/** One incarnation of the app, its clock at `now`; `ran` lists what its task ran with, `events` its pause events. */
async function boot(location: Location, now: number, consume = true) {
  const app = new Celeriac({ name: 'paused', storage: location.open(), clock: virtualClock({ now }), queues: { default: {}, bulk: {} }, consume })
  const ran: string[] = []
  const events: string[] = []
  app.events.on('queue-paused', (e) => events.push(`paused ${e.queue}`))
  app.events.on('queue-resumed', (e) => events.push(`resumed ${e.queue}`))
  const mark = app.task('paused.mark', (label: string) => {
    ran.push(label)
    return label
  })
  await app.start()
  return { app, mark, ran, events }
}

describe.each(locations)('paused queues across restarts [%s]', (_name, makeLocation) => {
  it('a queue paused before stop() is still paused after start(): its queued task waits until resume', async () => {
    const location = makeLocation()
    const first = await boot(location, T0)
    await first.app.control.pause('bulk')
    const waiting = await first.mark.applyAsync(['waiting'], { queue: 'bulk' })
    const free = await first.mark.delay('free')
    await first.app.whenIdle()
    expect(await free.get()).toBe('free')
    await first.app.stop()

    const second = await boot(location, T0 + HOUR)
    await second.app.whenIdle()
    expect(await second.app.AsyncResult(waiting.id).state()).toBe(states.PENDING)
    expect(second.ran).toEqual([])
    expect(second.app.inspect.queues()).toEqual([
      { name: 'default', paused: false, pausedAt: null, concurrency: 16, active: 0, reserved: 0, scheduled: 0 },
      { name: 'bulk', paused: true, pausedAt: T0, concurrency: 16, active: 0, reserved: 1, scheduled: 0 },
    ])
    // A state loaded at start is not a change: no event.
    expect(second.events).toEqual([])

    await second.app.control.resume('bulk')
    await second.app.whenIdle()
    expect(await second.app.AsyncResult(waiting.id).get()).toBe('waiting')
    expect(second.ran).toEqual(['waiting'])
    expect(second.events).toEqual(['resumed bulk'])
    await second.app.stop()

    // Resumed is stored too.
    const third = await boot(location, T0 + 2 * HOUR)
    expect(third.app.inspect.queues().map((q) => q.paused)).toEqual([false, false])
    await third.app.stop()
  })
})

describe('paused queues across handles [indexedDB]', () => {
  it('a pause made through another handle stops this consumer, and its resume runs what waited', async () => {
    const [, makeLocation] = locations[1]!
    const location = makeLocation()
    const consumer = await boot(location, T0)
    const producer = await boot(location, T0, false)
    await producer.app.control.pause('bulk')
    // Notifications between handles arrive in real time (a BroadcastChannel).
    await vi.waitFor(() => expect(consumer.events).toEqual(['paused bulk']))
    const waiting = await producer.mark.applyAsync(['waiting'], { queue: 'bulk' })
    const free = await producer.mark.delay('free')
    expect(await free.get({ timeout: 5_000 })).toBe('free')
    expect(await waiting.state()).toBe(states.PENDING)
    expect(consumer.ran).toEqual(['free'])
    await producer.app.control.resume('bulk')
    expect(await waiting.get({ timeout: 5_000 })).toBe('waiting')
    expect(consumer.events).toEqual(['paused bulk', 'resumed bulk'])
    await producer.app.stop()
    await consumer.app.stop()
  })
})

describe('control.pause outside a declared set, and before start', () => {
  it('with no queues declared any queue name can be paused, as any can be sent to; before start() or after stop() it is a ConfigError', async () => {
    const app = new Celeriac({ clock: virtualClock({ now: T0 }) })
    const mark = app.task('paused.free', (label: string) => label)
    await expect(app.control.pause('reports')).rejects.toThrow("Cannot pause queue 'reports': the app has not started; await app.start() first")
    await app.start()
    await app.control.pause('reports')
    const waiting = await mark.applyAsync(['waiting'], { queue: 'reports' })
    const free = await mark.delay('free')
    await app.whenIdle()
    expect(await free.get()).toBe('free')
    expect(await waiting.state()).toBe(states.PENDING)
    expect(app.inspect.queues().map((q) => [q.name, q.paused, q.reserved])).toEqual([
      ['default', false, 0],
      ['reports', true, 1],
    ])
    await app.control.resume('reports')
    expect(await waiting.get()).toBe('waiting')
    // A queue named as an Object member is a queue like any other.
    await app.control.pause('constructor')
    expect(app.inspect.queues().find((q) => q.name === 'constructor')?.paused).toBe(true)
    await app.stop()
    await expect(app.control.resume('reports')).rejects.toBeInstanceOf(ConfigError)
  })
})
