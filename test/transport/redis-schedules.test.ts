/**
 * `app.schedules` on bullmqTransport on the local Redis (db 7), in real time: BullMQ's job
 * schedulers keep Redis's time, which no virtual clock moves (bullmq-schedules.test.ts runs the
 * virtual-clock cases over `bullmqBackend()`). Intervals are short and every wait is for a slot's
 * result, by its id (`<schedule id>@<due ms>`, known from `list()`), never a sleep; the one sleep
 * makes an outage, and what is asserted after it does not depend on its length. Also:
 * celeryTransport's refusal, which points at Celery beat.
 */
import { randomUUID } from 'node:crypto'
import { Job, Queue, QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bullmqTransport } from '../../src/bullmq/index.js'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, ConfigError } from '../../src/index.js'
import { reachable } from '../reachable.js'

const REDIS = { host: '127.0.0.1', port: 6379, db: 7 } as const
const up = await reachable(REDIS.host, REDIS.port)
const WAIT = { timeout: 15_000 }

const apps: Celeriac[] = []
const prefixes: string[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop({ timeout: 2_000 })
  const client = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  try {
    for (const prefix of prefixes.splice(0)) {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await client.del(...keys)
      } while (cursor !== '0')
    }
  } finally {
    client.disconnect()
  }
})

/** Apps on one prefix of Redis db 7, as processes of one deployment; `ran` is every run's task id. */
function deployment() {
  const prefix = `celeriac-sched-${randomUUID()}`
  prefixes.push(prefix)
  const ran: string[] = []
  const waiting: Array<{ n: number; resolve: () => void }> = []
  return {
    prefix,
    ran,
    /** Resolves once `n` runs have started (as `ran` has them). */
    runs(n: number): Promise<void> {
      return ran.length >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }))
    },
    app(config: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}) {
      const app = new Celeriac({
        name: 'beat',
        transport: bullmqTransport({ connection: { ...REDIS }, prefix, lockDuration: 5_000, stalledInterval: 1_000 }),
        ...config,
      })
      const tick = app.task('tick', { bind: true }, (self) => {
        ran.push(self.request.id)
        for (const w of waiting.filter((w) => ran.length >= w.n)) {
          waiting.splice(waiting.indexOf(w), 1)
          w.resolve()
        }
        return self.request.id
      })
      apps.push(app)
      return { app, tick }
    },
  }
}

/**
 * Waits for the next `n` slots of schedule `id` to have run, each read from `list()` (a Worker
 * that takes a slot late, on a loaded machine, moves the next one past the slots it missed; a
 * slot that came and ran while this read is not seen, and not counted).
 */
async function nextSlots(app: Celeriac, id: string, n: number): Promise<number[]> {
  const dues: number[] = []
  for (let k = 0; k < n; k++) {
    const due = (await app.schedules.list()).find((s) => s.id === id)?.next
    expect(due, `slot ${String(k)} of ${id}`).toBeTypeOf('number')
    await ranSlot(app, id, due!)
    dues.push(due!)
  }
  return dues
}

/**
 * Waits for each slot of schedule `id` that `list()` gives as its next, until it gives none (the
 * schedule ended); returns their due times. A slot that came and ran while this was between two
 * reads is not among them (how fast this reads is the machine's): `runs` counts every run.
 */
async function slotsUntilEnd(app: Celeriac, id: string): Promise<number[]> {
  const seen: number[] = []
  for (let next = await nextOf(app, id); next !== null; next = await nextOf(app, id)) {
    await ranSlot(app, id, next)
    seen.push(next)
  }
  return seen
}

/** Schedule `id`'s next slot, from `list()` (null once it ended). */
async function nextOf(app: Celeriac, id: string): Promise<number | null> {
  const info = (await app.schedules.list()).find((s) => s.id === id)
  expect(info, `schedule ${id}`).toBeDefined()
  return info!.next
}

/** Waits for slot `due` of schedule `id` to have run. */
async function ranSlot(app: Celeriac, id: string, due: number): Promise<void> {
  expect(await app.AsyncResult(`${id}@${String(due)}`).get(WAIT)).toBe(`${id}@${String(due)}`)
}

describe.skipIf(!up)(`schedules on bullmqTransport, Redis db 7${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  it('an every schedule: one task per slot, one interval after the upsert; two apps consuming the queue never run a slot twice', async () => {
    const d = deployment()
    const a = d.app()
    const b = d.app()
    await a.app.start()
    await b.app.start()
    const before = Date.now()
    const info = await a.app.schedules.upsert('fast', { every: 300 }, a.tick.s(), { limit: 5 })
    // The first slot is one interval after the upsert, on the app clock (Date.now() here).
    expect(info.next).toBeGreaterThanOrEqual(before + 300)
    expect(info).toMatchObject({ count: 0, limit: 5, every: 300 })
    // The other app's upsert of the same schedule (every start of an app with it in its config) changes nothing.
    expect(await b.app.schedules.upsert('fast', { every: 300 }, b.tick.s(), { limit: 5 })).toMatchObject({ next: info.next, count: 0 })
    const seen = await slotsUntilEnd(b.app, 'fast')
    await d.runs(5)
    await Promise.all([a.app.whenIdle(), b.app.whenIdle()])
    // Five runs, each its own slot, on the grid from the first; every slot list() gave among them.
    const dues = d.ran.map((id) => Number(id.slice('fast@'.length))).sort((x, y) => x - y)
    expect(new Set(dues).size).toBe(5)
    expect(dues).toHaveLength(5)
    expect(dues[0]).toBe(info.next)
    for (const due of dues) expect((due - info.next!) % 300).toBe(0)
    expect(dues).toEqual(expect.arrayContaining(seen))
    expect(await b.app.schedules.list()).toMatchObject([{ id: 'fast', count: 5, next: null }])
  })

  it('list() while a Worker takes its pending slot, makes the next and runs it, between its reads: the next slot, not an end', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    const info = await app.schedules.upsert('fast', { every: 300 }, tick.s())
    // list() reads the scheduler, then its pending iteration and that one's state: the slot
    // runs before the state is read (as on a loaded machine, the interval short).
    const getState = Job.prototype.getState
    let held: number | undefined
    const spy = vi.spyOn(Job.prototype, 'getState').mockImplementation(async function (this: Job) {
      if (held === undefined && this.id?.startsWith('repeat:fast:') === true) {
        spy.mockRestore()
        held = Number(this.id.slice('repeat:fast:'.length))
        await ranSlot(app, 'fast', held)
      }
      return getState.call(this)
    })
    const [listed] = await app.schedules.list()
    expect(held).toBeTypeOf('number')
    expect(listed!.count).toBeGreaterThanOrEqual(1)
    expect(listed!.next).toBeTypeOf('number')
    expect(listed!.next).toBeGreaterThan(held!)
    expect((listed!.next! - info.next!) % 300).toBe(0)
    await ranSlot(app, 'fast', listed!.next!)
  })

  it('a cron schedule (seconds, in a time zone) fires at its times, up to its limit', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    const info = await app.schedules.upsert('sec', { cron: '* * * * * *', tz: 'Europe/Paris' }, tick.s(), { limit: 3 })
    expect(info).toMatchObject({ cron: '* * * * * *', tz: 'Europe/Paris', count: 0 })
    const seen = await slotsUntilEnd(app, 'sec')
    await d.runs(3)
    await app.whenIdle()
    const dues = d.ran.map((id) => Number(id.slice('sec@'.length)))
    expect(dues).toHaveLength(3)
    expect(dues[0]).toBe(info.next)
    for (const due of dues) expect(due % 1_000).toBe(0)
    // One app: the slots run in order, each once, and every slot list() gave among them.
    expect([...dues].sort((x, y) => x - y)).toEqual(dues)
    expect(new Set(dues).size).toBe(3)
    expect(dues).toEqual(expect.arrayContaining(seen))
    expect(await app.schedules.list()).toMatchObject([{ id: 'sec', count: 3, next: null }])
  })

  it('a restart keeps the schedule and fires no slot twice; a slot missed while no app ran runs once, then the next after now', async () => {
    const d = deployment()
    // A limit far beyond what the test runs (8 s of slots). With 8 (1.6 s), one loaded CI run
    // found no iteration waiting after the first app's stop: its start, two slots and stop can
    // outlast 8 slots there, and a schedule that ended leaves none.
    const config = (tick: ReturnType<typeof d.app>['tick']) => ({ schedules: { beat: { every: 200, signature: tick.s(), limit: 40 } } })
    const first = d.app()
    first.app.configure(config(first.tick))
    await first.app.start()
    const [info] = await first.app.schedules.list()
    const t0 = info!.next!
    await ranSlot(first.app, 'beat', t0)
    // The slot after it, read from list() (BullMQ made it when t0 was taken: t0 + 200, or the
    // grid's next after a take over 200 ms late).
    const [t1] = await nextSlots(first.app, 'beat', 1)
    expect(t1).toBeGreaterThan(t0)
    await first.app.stop({ timeout: 2_000 })
    // The iteration BullMQ added when the first app took its last slot (read from Redis: a slot
    // taken and given back unstarted by the warm stop waits too, before it).
    const admin = new Queue('default', { connection: { ...REDIS }, prefix: d.prefix })
    const waiting = (await admin.getJobs(['waiting', 'prioritized', 'delayed']))
      .map((job) => Number(job.id!.slice('repeat:beat:'.length)))
      .sort((a, b) => a - b)
    await admin.close()
    expect(waiting.length).toBeGreaterThan(0)
    const pending = waiting.at(-1)!
    // Down for at least three slots (a sleep only makes the outage; nothing asserted depends on its length).
    await new Promise((resolve) => setTimeout(resolve, 800))
    const restartedAt = Date.now()
    const second = d.app()
    second.app.configure(config(second.tick))
    await second.app.start()
    // The slot pending when the first app stopped runs once, late.
    for (const due of waiting) await ranSlot(second.app, 'beat', due)
    const [after] = await second.app.schedules.list()
    // Then the next slot of the grid after now: the ones in between are not sent.
    expect(after!.next).toBeGreaterThanOrEqual(restartedAt)
    expect((after!.next! - t0) % 200).toBe(0)
    await ranSlot(second.app, 'beat', after!.next!)
    await second.app.whenIdle()
    const slots = d.ran.map((id) => Number(id.slice('beat@'.length)))
    expect(new Set(slots).size).toBe(slots.length)
    // Before the restart only the slots run while up and the one pending.
    expect(slots.filter((due) => due < restartedAt)).toEqual(slots.slice(0, slots.indexOf(pending) + 1))
  })

  it('remove stops a schedule: its scheduler and pending slot leave Redis', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    const info = await app.schedules.upsert('gone', { every: 200 }, tick.s())
    await ranSlot(app, 'gone', info.next!)
    expect(await app.schedules.remove('gone')).toBe(true)
    expect(await app.schedules.remove('gone')).toBe(false)
    expect(await app.schedules.list()).toEqual([])
    const admin = new Queue('default', { connection: { ...REDIS }, prefix: d.prefix })
    try {
      expect(await admin.getJobSchedulers()).toEqual([])
      expect(await admin.getDelayedCount()).toBe(0)
    } finally {
      await admin.close()
    }
  })

  it('endAt: no slot after it runs (BullMQ made the one after it before the end: it is dropped)', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    const startAt = Date.now() + 300
    const info = await app.schedules.upsert('bounded', { every: 200 }, tick.s(), { startAt, endAt: startAt + 500 })
    expect(info.next).toBe(startAt)
    for (const k of [0, 1, 2]) await ranSlot(app, 'bounded', startAt + k * 200)
    expect(await app.schedules.list()).toMatchObject([{ id: 'bounded', count: 3, next: null }])
    // BullMQ made the iteration at startAt + 600 if it took the one at + 400 before endAt (not
    // if that take came late): it comes due and is dropped, and BullMQ makes none after it.
    const admin = new Queue('default', { connection: { ...REDIS }, prefix: d.prefix })
    const events = new QueueEvents('default', { connection: { ...REDIS }, prefix: d.prefix })
    try {
      const dropped = await admin.getJob(`repeat:bounded:${String(startAt + 600)}`)
      await dropped?.waitUntilFinished(events, WAIT.timeout)
    } finally {
      await events.close()
      await admin.close()
    }
    await app.whenIdle()
    expect(d.ran).toEqual([0, 1, 2].map((k) => `bounded@${String(startAt + k * 200)}`))
    expect(await app.schedules.list()).toMatchObject([{ id: 'bounded', count: 3, next: null }])
  })

  it('control.purge drops waiting tasks but not a schedule: its next slot still runs', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    await app.schedules.upsert('kept', { every: 300 }, tick.s())
    await tick.applyAsync([], { countdown: 60_000 })
    expect(await app.control.purge()).toBe(1)
    await nextSlots(app, 'kept', 2)
  })

  it('list() is the schedules in Redis: a producer-only app sees what another app upserted', async () => {
    const d = deployment()
    const worker = d.app()
    const producer = d.app({ consume: false })
    await worker.app.start()
    await producer.app.start()
    await producer.app.schedules.upsert('nightly', { cron: '0 3 * * *', tz: 'UTC' }, producer.tick.s(), { endAt: Date.UTC(2099, 0, 1) })
    const [seen] = await worker.app.schedules.list()
    expect(seen).toMatchObject({ id: 'nightly', cron: '0 3 * * *', tz: 'UTC', count: 0, missed: 'once', endAt: Date.UTC(2099, 0, 1) })
    expect(new Date(seen!.next!).getUTCHours()).toBe(3)
    expect(seen!.signature.toJSON()).toMatchObject({ kind: 'task', task: 'tick' })
  })

  it('bad input is a ConfigError before anything reaches Redis', async () => {
    const d = deployment()
    const { app, tick } = d.app()
    await app.start()
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s(), { missed: 'skip' })).rejects.toThrow(ConfigError)
    await expect(app.schedules.upsert('s', { cron: 'nope' }, tick.s())).rejects.toThrow(/bad cron expression/)
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s().set({ expires: new Date(Date.now() + 60_000) }))).rejects.toThrow(
      /give expires as a duration/,
    )
    expect(await app.schedules.list()).toEqual([])
  })

  it('celeryTransport keeps no schedules: upsert is a ConfigError pointing at Celery beat', async () => {
    const d = deployment()
    const app = new Celeriac({
      consume: false,
      transport: celeryTransport({ url: `redis://${REDIS.host}:${String(REDIS.port)}/${String(REDIS.db)}`, prefix: d.prefix }),
    })
    apps.push(app)
    const tick = app.task('tick', () => undefined)
    await app.start()
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s())).rejects.toThrow(ConfigError)
    await expect(app.schedules.upsert('s', { every: 1_000 }, tick.s())).rejects.toThrow(/use Celery beat.*celery -A proj beat/)
  })
})
