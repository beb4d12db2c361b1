/**
 * Periodic tasks (`app.schedules`, the `schedules` config): slots fire on the engine clock, once
 * each, as task `<schedule id>@<due ms>`; missed slots follow the schedule's policy across a
 * restart; bad input is a ConfigError that says what to fix. On memory storage and file storage.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, ConfigError, NotRegistered, memoryStorage } from '../../src/index.js'
import type { Storage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'
import { loopbackBroker } from '../transport/loopback.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** 2026-01-05T00:00:00Z, a Monday. */
const T0 = Date.UTC(2026, 0, 5)

const apps: Celeriac[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** An app with a `tick` task that records the task ids it ran. */
function makeApp(storage: Storage, clock: VirtualClock, config: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}) {
  const app = new Celeriac({ name: 'beat', storage, clock, ...config })
  const ran: string[] = []
  const tick = app.task('tick', { bind: true }, (self) => {
    ran.push(self.request.id)
  })
  apps.push(app)
  return { app, ran, tick }
}

async function restart(app: Celeriac): Promise<void> {
  await app.stop({ timeout: 1_000 })
  apps.splice(apps.indexOf(app), 1)
}

const kinds: Array<[string, () => Promise<() => Storage>]> = [
  [
    'memory',
    async () => {
      const storage = memoryStorage()
      return () => storage
    },
  ],
  [
    'file',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'celeriac-schedules-'))
      dirs.push(dir)
      return () => fileStorage({ dir })
    },
  ],
]

/** The due times (ms after T0) of the slots in `ran`, for schedule `id`. */
function slots(ran: readonly string[], id: string): number[] {
  return ran.filter((taskId) => taskId.startsWith(`${id}@`)).map((taskId) => Number(taskId.slice(id.length + 1)) - T0)
}

it('fires an every-minute schedule 43 200 times in 30 virtual days, each slot once', async () => {
  const clock = virtualClock({ now: T0 })
  const { app, ran, tick } = makeApp(memoryStorage(), clock)
  await app.start()
  await app.schedules.upsert('minutely', { every: MINUTE }, tick.s())
  await clock.advance(30 * DAY)
  expect(ran).toHaveLength(43_200)
  expect(new Set(ran).size).toBe(43_200)
  expect(slots(ran, 'minutely').slice(0, 2)).toEqual([MINUTE, 2 * MINUTE])
  expect(ran.at(-1)).toBe(`minutely@${String(T0 + 30 * DAY)}`)
  expect((await app.schedules.list())[0]).toMatchObject({ id: 'minutely', count: 43_200, next: T0 + 30 * DAY + MINUTE })
  // How long this takes is no test's business (speed targets live in bench/): one virtual
  // instant per slot, each settled with a real macrotask turn, seconds of wall time here.
}, 60_000)

describe.each(kinds)('schedules on %s storage', (_kind, location) => {
  it('reads cron in its time zone: 03:00 in Paris is 02:00 UTC in winter', async () => {
    const clock = virtualClock({ now: T0 })
    const { app, ran, tick } = makeApp((await location())(), clock)
    await app.start()
    const info = await app.schedules.upsert('nightly', { cron: '0 3 * * *', tz: 'Europe/Paris' }, tick.s())
    expect(info).toMatchObject({ id: 'nightly', cron: '0 3 * * *', tz: 'Europe/Paris', next: T0 + 2 * HOUR, count: 0, missed: 'once' })
    await clock.advance(3 * DAY)
    expect(slots(ran, 'nightly')).toEqual([2 * HOUR, DAY + 2 * HOUR, 2 * DAY + 2 * HOUR])
  })

  it('ends at endAt and after limit slots; startAt is the first slot of an every schedule', async () => {
    const clock = virtualClock({ now: T0 })
    const { app, ran, tick } = makeApp((await location())(), clock)
    await app.start()
    await app.schedules.upsert('three', { every: 10 * MINUTE }, tick.s(), { startAt: T0 + HOUR, limit: 3 })
    await app.schedules.upsert('until', { cron: '0 * * * *' }, tick.s(), { endAt: new Date(T0 + 3 * HOUR) })
    await clock.advance(DAY)
    expect(slots(ran, 'three')).toEqual([HOUR, HOUR + 10 * MINUTE, HOUR + 20 * MINUTE])
    expect(slots(ran, 'until')).toEqual([HOUR, 2 * HOUR, 3 * HOUR])
    const list = await app.schedules.list()
    expect(list.map((s) => [s.id, s.next, s.count])).toEqual([
      ['three', null, 3],
      ['until', null, 3],
    ])
  })

  it('sends the signature it was given, and a removed schedule sends nothing more', async () => {
    const clock = virtualClock({ now: T0 })
    const { app } = makeApp((await location())(), clock)
    const seen: number[] = []
    const add = app.task('add', (a: number, b: number) => {
      seen.push(a + b)
      return a + b
    })
    await app.start()
    await app.schedules.upsert('sum', { every: HOUR }, add.s(2, 3))
    await clock.advance(2 * HOUR)
    expect(await app.AsyncResult(`sum@${String(T0 + HOUR)}`).get()).toBe(5)
    expect(await app.schedules.remove('sum')).toBe(true)
    expect(await app.schedules.remove('sum')).toBe(false)
    await clock.advance(5 * HOUR)
    expect(seen).toEqual([5, 5])
    expect(await app.schedules.list()).toEqual([])
  })

  it('an upsert with the same timing keeps its place; a new timing starts afresh', async () => {
    const clock = virtualClock({ now: T0 })
    const { app, ran, tick } = makeApp((await location())(), clock)
    await app.start()
    await app.schedules.upsert('s', { every: HOUR }, tick.s())
    await clock.advance(2 * HOUR + 30 * MINUTE)
    expect((await app.schedules.upsert('s', { every: HOUR }, tick.s(), { limit: 4 })).next).toBe(T0 + 3 * HOUR)
    await clock.advance(HOUR)
    expect(slots(ran, 's')).toEqual([HOUR, 2 * HOUR, 3 * HOUR])
    // A new interval counts from now (3h30).
    await app.schedules.upsert('s', { every: 2 * HOUR }, tick.s(), { limit: 1 })
    await clock.advance(DAY)
    expect(slots(ran, 's')).toEqual([HOUR, 2 * HOUR, 3 * HOUR, 5 * HOUR + 30 * MINUTE])
  })

  it('a schedule that ended by its limit goes on when an upsert raises it', async () => {
    const clock = virtualClock({ now: T0 })
    const { app, ran, tick } = makeApp((await location())(), clock)
    await app.start()
    await app.schedules.upsert('s', { every: HOUR }, tick.s(), { limit: 2 })
    await clock.advance(5 * HOUR + 30 * MINUTE)
    expect((await app.schedules.list())[0]).toMatchObject({ next: null, count: 2 })
    // Raised at 5h30: the slots at 3h, 4h and 5h passed meanwhile (missed: one of them runs now).
    expect(await app.schedules.upsert('s', { every: HOUR }, tick.s(), { limit: 4 })).toMatchObject({ next: T0 + 6 * HOUR, count: 3 })
    await clock.advance(DAY)
    expect(slots(ran, 's')).toEqual([HOUR, 2 * HOUR, 5 * HOUR, 6 * HOUR])
  })

  describe.each([
    ['once', [7 * HOUR]],
    ['skip', []],
    ['all', [3 * HOUR, 4 * HOUR, 5 * HOUR, 6 * HOUR, 7 * HOUR]],
  ] as const)("missed: '%s'", (missed, caughtUp) => {
    it('fires each slot once across a restart, and the slots missed while down as the policy says', async () => {
      const clock = virtualClock({ now: T0 })
      const storage = await location()
      const first = makeApp(storage(), clock)
      // Defined in code: upserted at each start, with the same timing, so it keeps its place.
      const schedules = { hourly: { every: HOUR, signature: first.tick.s(), missed } }
      first.app.configure({ schedules })
      await first.app.start()
      await clock.advance(2 * HOUR)
      await restart(first.app)
      await clock.advance(5 * HOUR) // down from 2h to 7h
      const second = makeApp(storage(), clock, { schedules })
      await second.app.start()
      await clock.advance(0)
      expect(slots(second.ran, 'hourly')).toEqual(caughtUp)
      await clock.advance(HOUR)
      expect([...slots(first.ran, 'hourly'), ...slots(second.ran, 'hourly')]).toEqual([HOUR, 2 * HOUR, ...caughtUp, 8 * HOUR])
      expect((await second.app.schedules.list())[0]).toMatchObject({ next: 9 * HOUR + T0, count: 3 + caughtUp.length })
    })
  })

  it('is fired by the consuming app only: a producer stores schedules but sends no slot', async () => {
    const clock = virtualClock({ now: T0 })
    const { app, tick } = makeApp((await location())(), clock, { consume: false })
    const sent: string[] = []
    app.events.on('task-sent', (e) => sent.push(e.id))
    await app.start()
    await app.schedules.upsert('s', { every: MINUTE }, tick.s())
    await clock.advance(HOUR)
    expect(sent).toEqual([])
    expect((await app.schedules.list())[0]).toMatchObject({ id: 's', next: T0 + MINUTE, count: 0 })
  })
})

it("a local time that the spring-forward skips fires once, just after the gap (croner in the schedule's zone)", async () => {
  // Europe/Paris moves from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist that day.
  const clock = virtualClock({ now: Date.UTC(2026, 2, 28) })
  const { app, ran, tick } = makeApp(memoryStorage(), clock)
  await app.start()
  await app.schedules.upsert('night', { cron: '30 2 * * *', tz: 'Europe/Paris' }, tick.s())
  await clock.advance(3 * DAY)
  expect(ran.map((id) => new Date(Number(id.slice('night@'.length))).toISOString())).toEqual([
    '2026-03-28T01:30:00.000Z', // 02:30 CET
    '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first instant after the gap
    '2026-03-30T00:30:00.000Z', // 02:30 CEST
  ])
})

it('is refused on a transport that keeps no schedules, at upsert and at the start of an app with schedules in its config', async () => {
  const clock = virtualClock({ now: T0 })
  const onTransport = (config: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}) => {
    const app = new Celeriac({ name: 'beat', transport: loopbackBroker(memoryStorage()).transport(), clock, ...config })
    apps.push(app)
    return { app, tick: app.task('tick', () => undefined) }
  }
  const { app, tick } = onTransport()
  await app.start()
  await expect(app.schedules.upsert('s', { every: MINUTE }, tick.s())).rejects.toThrow(
    /do not run on the 'loopback' transport .*schedule them from an app with a storage/,
  )
  const other = onTransport()
  other.app.configure({ schedules: { s: { every: MINUTE, signature: other.tick.s() } } })
  await expect(other.app.start()).rejects.toThrow(ConfigError)
})

describe('bad schedules', () => {
  it.each([
    ['a bad cron expression', { cron: 'every day' }, {}, /bad cron expression 'every day'/],
    ['a cron field out of range', { cron: '61 * * * *' }, {}, /bad cron expression/],
    ['a cron that never falls due', { cron: '0 0 30 2 *' }, {}, /never falls due/],
    ['an unknown time zone', { cron: '0 3 * * *', tz: 'Mars/Olympus' }, {}, /unknown time zone "Mars\/Olympus"; give an IANA name/],
    ['a zero interval', { every: 0 }, {}, /every must be a whole number >= 1/],
    ['a fractional interval', { every: 1.5 }, {}, /every must be a whole number >= 1/],
    ['both every and cron', { every: 1_000, cron: '* * * * *' }, {}, /exactly one of every/],
    ['tz on every', { every: 1_000, tz: 'UTC' }, {}, /tz applies to cron only/],
    ['endAt before startAt', { every: 1_000 }, { startAt: T0 + 10, endAt: T0 }, /endAt is before startAt/],
    ['a zero limit', { every: 1_000 }, { limit: 0 }, /limit must be a whole number >= 1/],
    ['an unknown missed policy', { every: 1_000 }, { missed: 'later' }, /missed must be 'once', 'skip' or 'all'/],
    ['an unknown option', { every: 1_000 }, { until: T0 }, /unknown option until/],
  ])('%s is a ConfigError that says what to fix', async (_name, timing, options, message) => {
    const { app, tick } = makeApp(memoryStorage(), virtualClock({ now: T0 }))
    await app.start()
    const upsert = app.schedules.upsert('bad', timing as never, tick.s(), options as never)
    await expect(upsert).rejects.toThrow(ConfigError)
    await expect(upsert).rejects.toThrow(message)
    expect(await app.schedules.list()).toEqual([])
  })

  it('refuses a signature with its own taskId, a task no one runs, and calls before start', async () => {
    const { app, tick } = makeApp(memoryStorage(), virtualClock({ now: T0 }))
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s())).rejects.toThrow(/has not started; await app.start\(\) first/)
    await app.start()
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s().set({ taskId: 'x' }))).rejects.toThrow(/each slot gets its own/)
    const other = new Celeriac({ name: 'other' }).task('elsewhere', () => 1)
    await expect(app.schedules.upsert('s', { every: 1_000 }, other.s())).rejects.toThrow(NotRegistered)
  })

  it('checks config schedules when the app is made', () => {
    const { tick } = makeApp(memoryStorage(), virtualClock())
    expect(() => new Celeriac({ schedules: { s: { cron: '0 3 * * *', tz: 'Nowhere', signature: tick.s() } } })).toThrow(ConfigError)
  })
})

it('runs the README "Periodic tasks" snippet (file storage, virtual clock)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-schedules-readme-'))
  dirs.push(dir)
  const clock = virtualClock({ now: T0 })
  const app = new Celeriac({ storage: fileStorage({ dir }), clock })
  apps.push(app)
  const report = app.task('reports.nightly', () => 'built')
  const ping = app.task('health.ping', () => 'pong')
  app.configure({
    schedules: { nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', signature: report.s() } },
  })
  await app.start()
  await app.schedules.upsert('ping', { every: 60_000 }, ping.s(), { limit: 10, missed: 'skip' })
  const [nightly] = await app.schedules.list()
  expect(nightly).toMatchObject({ id: 'nightly', next: T0 + 2 * HOUR, count: 0 })
  await clock.advance(3 * HOUR)
  expect(await app.AsyncResult(`nightly@${String(T0 + 2 * HOUR)}`).get()).toBe('built')
  expect((await app.schedules.list()).map((s) => [s.id, s.count])).toEqual([
    ['nightly', 1],
    ['ping', 10],
  ])
  await app.schedules.remove('ping')
  expect((await app.schedules.list()).map((s) => s.id)).toEqual(['nightly'])
})
