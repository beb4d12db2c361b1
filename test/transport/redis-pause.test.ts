/**
 * Pausing a queue across processes on Redis (bullmqTransport): a pause made by one app (here a
 * producer) is stored in the shared redisStore, and every process of the app hears it: the worker
 * pauses its BullMQ Worker and gives back what it prefetched and had not started, so the jobs
 * wait in Redis; a worker started while the queue is paused takes nothing from it; the resume
 * runs what waited. Real time: every wait is bounded and polls a condition, never a sleep.
 */
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { bullmqTransport } from '../../src/bullmq/index.js'
import { Celeriac, states } from '../../src/index.js'
import type { Task } from '../../src/index.js'
import { reachable } from '../reachable.js'

const REDIS = { host: '127.0.0.1', port: 6379, db: 6 } as const
const up = await reachable(REDIS.host, REDIS.port)
const WAIT = { timeout: 15_000 }
const prefix = `celeriac-pause-${randomUUID()}`

const apps: Celeriac[] = []
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.stop({ timeout: 5_000 })
})

afterAll(async () => {
  if (!up) return
  // Only this test's keys, on its own db (never FLUSHDB: the Redis is shared).
  const client = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
})

/** An app ("process") of the test's prefix; `events` lists the pause events it heard. */
function processOf(name: string, consume: boolean) {
  const app = new Celeriac({
    name,
    consume,
    queues: { default: { concurrency: 1 }, other: {} },
    transport: bullmqTransport({ connection: { ...REDIS }, prefix }),
  })
  apps.push(app)
  const events: string[] = []
  app.events.on('queue-paused', (e) => events.push(`paused ${e.queue}`))
  app.events.on('queue-resumed', (e) => events.push(`resumed ${e.queue}`))
  return {
    app,
    events,
    echo: app.task('p.echo', (label: string) => label),
    /** Runs until its signal aborts (terminate), or 20 s. */
    hold: app.task('p.hold', { bind: true }, async (self: Task) => {
      for (let i = 0; i < 1_000 && !self.signal.aborted; i++) await new Promise((r) => setTimeout(r, 20))
      return 'held'
    }),
  }
}

/** How many jobs of `queue` wait in Redis (ready, not taken by any Worker). */
async function waitingInRedis(queue: string): Promise<number> {
  const q = new Queue(queue, { connection: { ...REDIS }, prefix })
  try {
    const counts = await q.getJobCounts('wait', 'prioritized')
    return (counts.wait ?? 0) + (counts.prioritized ?? 0)
  } finally {
    await q.close()
  }
}

describe.skipIf(!up)(`pause across processes on Redis (bullmqTransport)${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  it("a producer's pause stops the worker: what it prefetched goes back to Redis, new sends wait there; other queues go on; resume runs them", async () => {
    const worker = processOf('pause-worker', true)
    const web = processOf('pause-web', false)
    await worker.app.start()
    await web.app.start()
    // The worker's one slot is taken; what follows is prefetched (4 × concurrency) and waits.
    const busy = await web.hold.delay()
    await vi.waitFor(() => expect(worker.app.inspect.active().map((t) => t.id)).toEqual([busy.id]), WAIT)
    const before = await web.echo.delay('before')
    await vi.waitFor(() => expect(worker.app.inspect.reserved().map((t) => t.id)).toEqual([before.id]), WAIT)

    await web.app.control.pause('default')
    await vi.waitFor(() => expect(worker.events).toEqual(['paused default']), WAIT)
    const after = await web.echo.delay('after')
    // Given back: both wait in Redis, none in the worker.
    await vi.waitFor(async () => expect(await waitingInRedis('default')).toBe(2), WAIT)
    expect(worker.app.inspect.reserved()).toEqual([])
    const other = await web.echo.applyAsync(['other'], { queue: 'other' })
    expect(await other.get(WAIT)).toBe('other')
    await worker.app.control.revoke(busy.id, { terminate: true })
    await worker.app.whenIdle()
    expect(await before.state()).toBe(states.PENDING)
    expect(await after.state()).toBe(states.PENDING)
    expect(worker.app.inspect.queues().find((q) => q.name === 'default')).toMatchObject({ paused: true, active: 0, reserved: 0 })

    await web.app.control.resume('default')
    expect(await before.get(WAIT)).toBe('before')
    expect(await after.get(WAIT)).toBe('after')
    expect(worker.events).toEqual(['paused default', 'resumed default'])
    expect(web.events).toEqual(['paused default', 'resumed default'])
  })

  it('a worker started while its queue is paused takes nothing from it until the resume', async () => {
    const web = processOf('pause-web', false)
    await web.app.start()
    await web.app.control.pause('default')
    const waiting = await web.echo.delay('waiting')
    const worker = processOf('pause-worker', true)
    await worker.app.start()
    expect(worker.app.inspect.queues().find((q) => q.name === 'default')).toMatchObject({ paused: true })
    // The other queue is consumed: a task there runs, the paused one's still waits in Redis.
    expect(await (await web.echo.applyAsync(['other'], { queue: 'other' })).get(WAIT)).toBe('other')
    expect(await waitingInRedis('default')).toBe(1)
    expect(await waiting.state()).toBe(states.PENDING)
    await web.app.control.resume('default')
    expect(await waiting.get(WAIT)).toBe('waiting')
  })
})
