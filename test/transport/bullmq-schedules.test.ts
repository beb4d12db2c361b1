/**
 * `app.schedules` on bullmqTransport over `bullmqBackend()` on a virtual clock: BullMQ's job
 * schedulers fire the slots (an `every` scheduler's iterations follow the virtual clock; a cron
 * pattern's keep real time there, src/bullmq/README.md, so cron is tested on Redis:
 * redis-schedules.test.ts). Each slot runs once, as task `<schedule id>@<due ms>`, whatever apps
 * consume the queue, across a restart.
 */
import { afterEach, expect, it } from 'vitest'
import { bullmqBackend, bullmqTransport } from '../../src/bullmq/index.js'
import { Celeriac, ConfigError, chain, memoryStorage } from '../../src/index.js'
import type { Storage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'

const MINUTE = 60_000
/** 2026-01-05T00:00:00Z. */
const T0 = Date.UTC(2026, 0, 5)

const apps: Celeriac[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
})

/** The apps of one "Redis": one store and one in-process BullMQ backend, on `clock`. */
function cluster(clock: VirtualClock) {
  const store: Storage = memoryStorage()
  const backend = bullmqBackend({ storage: memoryStorage(), clock })
  const ran: string[] = []
  return {
    ran,
    app(config: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}) {
      // Locks and stall checks run in real time over this backend: long, so virtual hours pass none.
      const transport = bullmqTransport({ connection: {}, store, backend, lockDuration: 86_400_000, stalledInterval: 86_400_000, retention: 172_800_000 })
      const app = new Celeriac({ name: 'beat', transport, clock, ...config })
      const tick = app.task('tick', { bind: true }, (self) => {
        ran.push(self.request.id)
      })
      apps.push(app)
      return { app, tick }
    },
  }
}

/** The due times (ms after T0) of the slots run for schedule `id`. */
const slots = (ran: readonly string[], id: string): number[] =>
  ran.filter((taskId) => taskId.startsWith(`${id}@`)).map((taskId) => Number(taskId.slice(id.length + 1)) - T0)

it('fires an every schedule on the virtual clock: one task per slot, <id>@<due>, one interval after the upsert', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const { app, tick } = c.app()
  await app.start()
  const info = await app.schedules.upsert('minutely', { every: MINUTE }, tick.s())
  expect(info).toMatchObject({ id: 'minutely', every: MINUTE, next: T0 + MINUTE, count: 0, missed: 'once' })
  await clock.advance(60 * MINUTE)
  expect(slots(c.ran, 'minutely')).toEqual(Array.from({ length: 60 }, (_, k) => (k + 1) * MINUTE))
  expect(await app.AsyncResult(`minutely@${String(T0 + 60 * MINUTE)}`).state()).toBe('SUCCESS')
  expect(await app.schedules.list()).toMatchObject([{ id: 'minutely', count: 60, next: T0 + 61 * MINUTE }])
})

it('two apps consuming the queue run each slot once', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const a = c.app()
  const b = c.app()
  await a.app.start()
  await b.app.start()
  await a.app.schedules.upsert('every5', { every: 5 * MINUTE }, a.tick.s())
  await b.app.schedules.upsert('every5', { every: 5 * MINUTE }, b.tick.s())
  await clock.advance(60 * MINUTE)
  expect(slots(c.ran, 'every5').sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, k) => (k + 1) * 5 * MINUTE))
})

it('keeps the schedule across a restart, runs a slot missed while down once, then goes on from the next slot', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const first = c.app()
  await first.app.start()
  await first.app.schedules.upsert('every10', { every: 10 * MINUTE }, first.tick.s(), { limit: 9 })
  await clock.advance(30 * MINUTE)
  await first.app.stop({ timeout: 1_000 })
  expect(slots(c.ran, 'every10')).toEqual([10, 20, 30].map((m) => m * MINUTE))

  await clock.advance(35 * MINUTE) // down at 40, 50 and 60 min
  const second = c.app({ schedules: { every10: { every: 10 * MINUTE, signature: c.app().tick.s(), limit: 9 } } })
  await second.app.start()
  await clock.advance(0)
  // BullMQ's pending iteration (40 min) runs once; the next is the first slot after now (70).
  expect(slots(c.ran, 'every10')).toEqual([10, 20, 30, 40].map((m) => m * MINUTE))
  expect(await second.app.schedules.list()).toMatchObject([{ id: 'every10', count: 4, next: T0 + 70 * MINUTE, limit: 9 }])
  await clock.advance(60 * MINUTE)
  // 70 ... 120: the limit (9) ends it at 120.
  expect(slots(c.ran, 'every10')).toEqual([10, 20, 30, 40, 70, 80, 90, 100, 110].map((m) => m * MINUTE))
  expect(await second.app.schedules.list()).toMatchObject([{ id: 'every10', count: 9, next: null }])
})

it('startAt (its grid), endAt and remove', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const { app, tick } = c.app()
  await app.start()
  await app.schedules.upsert('late', { every: 10 * MINUTE }, tick.s(), { startAt: T0 + 5 * MINUTE, endAt: T0 + 45 * MINUTE })
  await app.schedules.upsert('gone', { every: 10 * MINUTE }, tick.s())
  expect((await app.schedules.list()).map((s) => [s.id, s.next])).toEqual([
    ['gone', T0 + 10 * MINUTE],
    ['late', T0 + 5 * MINUTE],
  ])
  await clock.advance(25 * MINUTE)
  expect(await app.schedules.remove('gone')).toBe(true)
  expect(await app.schedules.remove('gone')).toBe(false)
  await clock.advance(95 * MINUTE)
  expect(slots(c.ran, 'gone')).toEqual([10, 20].map((m) => m * MINUTE))
  expect(slots(c.ran, 'late')).toEqual([5, 15, 25, 35, 45].map((m) => m * MINUTE))
  expect(await app.schedules.list()).toMatchObject([{ id: 'late', next: null }])
})

it('an upsert of the same timing keeps its place (a raised limit goes on); a new timing starts afresh', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const { app, tick } = c.app()
  await app.start()
  await app.schedules.upsert('s', { every: 10 * MINUTE }, tick.s(), { limit: 3 })
  await clock.advance(40 * MINUTE)
  expect(await app.schedules.list()).toMatchObject([{ id: 's', count: 3, next: null }])
  // Raised: the slot due now (40) runs at once, then 50; five in all.
  expect(await app.schedules.upsert('s', { every: 10 * MINUTE }, tick.s(), { limit: 5 })).toMatchObject({ count: 3, next: T0 + 40 * MINUTE })
  await clock.advance(30 * MINUTE)
  expect(slots(c.ran, 's')).toEqual([10, 20, 30, 40, 50].map((m) => m * MINUTE))
  expect(await app.schedules.list()).toMatchObject([{ id: 's', count: 5, next: null }])
  // A new timing: count 0, the first slot one interval from now (70 min).
  expect(await app.schedules.upsert('s', { every: 5 * MINUTE }, tick.s(), { limit: 5 })).toMatchObject({ count: 0, next: T0 + 75 * MINUTE })
  await clock.advance(10 * MINUTE)
  expect(slots(c.ran, 's').slice(5)).toEqual([75, 80].map((m) => m * MINUTE))
})

it('control.purge leaves the schedules going (their pending slot is kept)', async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const { app, tick } = c.app()
  await app.start()
  await app.schedules.upsert('p', { every: 10 * MINUTE }, tick.s())
  await tick.applyAsync([], { countdown: 60 * MINUTE })
  expect(await app.control.purge()).toBe(1)
  await clock.advance(30 * MINUTE)
  expect(slots(c.ran, 'p')).toEqual([10, 20, 30].map((m) => m * MINUTE))
})

it("a signature's expires (ms) counts from each slot", async () => {
  const clock = virtualClock({ now: T0 })
  const c = cluster(clock)
  const { app } = c.app()
  const expiries: Array<number | null> = []
  const probe = app.task('probe', { bind: true }, (self) => {
    expiries.push(self.request.expires)
  })
  await app.start()
  await app.schedules.upsert('exp', { every: 10 * MINUTE }, probe.s().set({ expires: 30_000 }))
  await clock.advance(20 * MINUTE)
  expect(expiries).toEqual([T0 + 10 * MINUTE + 30_000, T0 + 20 * MINUTE + 30_000])
})

it('refuses what BullMQ schedulers cannot do, with a ConfigError saying what to do', async () => {
  const clock = virtualClock({ now: T0 })
  const { app, tick } = cluster(clock).app()
  await app.start()
  await expect(app.schedules.upsert('s', { every: MINUTE }, tick.s(), { missed: 'all' })).rejects.toThrow(
    /missed 'all' is not available on bullmqTransport.*missed: 'once'/,
  )
  await expect(app.schedules.upsert('s', { every: MINUTE }, tick.s(), { missed: 'skip' })).rejects.toThrow(ConfigError)
  await expect(app.schedules.upsert('s', { every: MINUTE }, chain(tick.s(), tick.s()))).rejects.toThrow(/sends one task at each slot.*not a chain/)
  await expect(app.schedules.upsert('s', { every: MINUTE }, tick.s().set({ countdown: 5 }))).rejects.toThrow(/has a countdown/)
  await expect(app.schedules.upsert('s', { every: 0 }, tick.s())).rejects.toThrow(ConfigError)
  expect(await app.schedules.list()).toEqual([])
})
