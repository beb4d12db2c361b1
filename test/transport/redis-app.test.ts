/**
 * The Quick start app on Redis: the same tasks and calls, with only the constructor changed to
 * `transport: bullmqTransport({ connection })`. Two apps share one Redis as two processes would
 * (a producer that only sends and reads results, a worker that runs them); BullMQ's own Redis
 * backend and the redisStore carry everything between them. Real time (virtual time does not
 * reach Redis): countdowns are short and every wait has a generous timeout, never a sleep.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bullmqTransport } from '../../src/bullmq/index.js'
import { Celeriac, ChordError, ConfigError, TaskRevokedError, TimeLimitExceeded, chain, chord, group, memoryStorage } from '../../src/index.js'
import type { Task } from '../../src/index.js'
import { deleteKeys } from '../bullmq/backends.js'
import { reachable } from '../reachable.js'
import { loopbackBroker } from './loopback.js'

const REDIS = { host: '127.0.0.1', port: 6379 } as const
const up = await reachable(REDIS.host, REDIS.port)
const WAIT = { timeout: 15_000 }

function defineTasks(app: Celeriac) {
  return {
    add: app.task('math.add', (a: number, b: number) => a + b),
    sum: app.task('math.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0)),
    /** Fails its first run with a retry after 50 ms; returns the retries it took. */
    flaky: app.task('net.flaky', { bind: true, maxRetries: 3 }, (self: Task) => {
      if (self.request.retries === 0) throw self.retry({ countdown: 50 })
      return self.request.retries
    }),
    boom: app.task('math.boom', (why: string) => {
      throw new RangeError(why)
    }),
    /** Says HOLDING, then waits until it is terminated (its signal aborts), or 20 s. */
    hold: app.task('ctx.hold', { bind: true }, async (self: Task) => {
      self.updateState('HOLDING', null)
      for (let i = 0; i < 1_000 && !self.signal.aborted; i++) await new Promise((r) => setTimeout(r, 20))
      return self.signal.aborted ? 'aborted' : 'never terminated'
    }),
    /** Reports where it runs and who sent it: context crosses processes with the message. */
    where: app.task('ctx.where', { bind: true }, (self: Task) => ({
      parentId: self.request.parentId,
      rootId: self.request.rootId,
      hostname: self.request.hostname,
    })),
  }
}

describe.skipIf(!up)(`the Quick start app on Redis (bullmqTransport)${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  const prefix = `celeriac-app-${randomUUID()}`
  let worker: Celeriac
  let producer: Celeriac
  let tasks: ReturnType<typeof defineTasks>

  beforeAll(async () => {
    worker = new Celeriac({ name: 'orders-worker', transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    defineTasks(worker)
    producer = new Celeriac({ name: 'orders-web', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    tasks = defineTasks(producer)
    await worker.start()
    await producer.start()
  })

  afterAll(async () => {
    await producer?.stop()
    await worker?.stop()
    await deleteKeys(prefix)
  })

  afterEach(async () => {
    // Every test leaves nothing running in the worker.
    await worker.whenIdle()
  })

  it('a task sent by one app runs in the other; its result is read where it was sent', async () => {
    const r = await tasks.add.delay(2, 2)
    expect(await r.get(WAIT)).toBe(4)
    expect(await r.state()).toBe('SUCCESS')
  })

  it('chains, groups and chords, with header results in header order', async () => {
    expect(await (await chain(tasks.add.s(2, 2), tasks.add.s(4), tasks.add.s(8)).delay()).get(WAIT)).toBe(16)
    expect(await (await group([1, 2, 3].map((i) => tasks.add.s(i, i))).delay()).get(WAIT)).toEqual([2, 4, 6])
    expect(await (await chord([tasks.add.s(1, 1), tasks.add.s(2, 2)], tasks.sum.s()).delay()).get(WAIT)).toBe(6)
  })

  it('a chord whose header fails ends with ChordError naming the culprit; its body never runs', async () => {
    const r = await chord([tasks.add.s(1, 1), tasks.boom.s('bad input')], tasks.sum.s()).delay()
    const error = await r.get(WAIT).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ChordError)
    expect((error as ChordError).message).toContain('bad input')
  })

  it('a retry with a countdown comes back through BullMQ and succeeds', async () => {
    const r = await tasks.flaky.delay()
    expect(await r.get(WAIT)).toBe(1)
  })

  it('a countdown task revoked before its time never runs and is REVOKED', async () => {
    const r = await tasks.add.applyAsync([1, 1], { countdown: 60_000 })
    await r.revoke()
    expect(await r.state()).toBe('REVOKED')
    // Another send of a fresh task still runs: the queue goes on.
    expect(await (await tasks.add.delay(3, 3)).get(WAIT)).toBe(6)
  })

  it('revoke with terminate from the producer stops the run in the worker process: REVOKED (terminated)', async () => {
    const r = await tasks.hold.delay()
    while ((await r.state()) !== 'HOLDING') await new Promise((resolve) => setTimeout(resolve, 10))
    await r.revoke({ terminate: true })
    const error = await r.get(WAIT).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TaskRevokedError)
    expect((error as TaskRevokedError).reason).toBe('terminated')
  })

  it('inspect.cluster() from the producer lists the worker process and the task it runs', async () => {
    const r = await tasks.hold.delay()
    while ((await r.state()) !== 'HOLDING') await new Promise((resolve) => setTimeout(resolve, 10))
    const nodes = await producer.inspect.cluster({ timeout: 300 })
    const names = Object.keys(nodes)
    expect(names.some((n) => n.startsWith('orders-web@'))).toBe(true)
    const workerNode = names.find((n) => n.startsWith('orders-worker@'))
    expect(workerNode).toBeDefined()
    expect(nodes[workerNode!]!.active.map((t) => [t.id, t.name])).toEqual([[r.id, 'ctx.hold']])
    await r.revoke({ terminate: true })
    await r.get(WAIT).catch(() => undefined)
  })

  it('control.timeLimit from the producer applies in the worker process', async () => {
    producer.control.timeLimit('ctx.hold', { hard: 200 })
    // The worker hears the change before the inspection that follows it (one store, in order).
    await producer.inspect.cluster({ timeout: 300 })
    const r = await tasks.hold.delay()
    await expect(r.get(WAIT)).rejects.toBeInstanceOf(TimeLimitExceeded)
    producer.control.timeLimit('ctx.hold', { hard: null })
    await producer.inspect.cluster({ timeout: 300 })
  })

  it('a lock held in one process is held for the other; the fencing number grows across both', async () => {
    const key = `report-${randomUUID()}`
    const mine = await producer.locks.acquire(key, { ttl: 10_000 })
    expect(mine).not.toBeNull()
    expect(await worker.locks.acquire(key, { ttl: 10_000 })).toBeNull()
    expect(await mine!.release()).toBe(true)
    const theirs = await worker.locks.acquire(key, { ttl: 10_000 })
    expect(theirs).not.toBeNull()
    expect(theirs!.token).toBeGreaterThan(mine!.token)
    expect(await mine!.release()).toBe(false)
    expect(await theirs!.release()).toBe(true)
  })

  it('taskId dedupes: a second send of a pending id does not run it twice', async () => {
    const id = `dedupe-${randomUUID()}`
    const first = await tasks.add.applyAsync([5, 5], { taskId: id })
    const second = await tasks.add.applyAsync([5, 5], { taskId: id })
    expect(second.id).toBe(first.id)
    expect(await first.get(WAIT)).toBe(10)
  })

  it('task context crosses processes: a chain step knows its parent and root', async () => {
    const r = await chain(tasks.add.s(1, 1), tasks.where.si()).delay()
    const seen = (await r.get(WAIT)) as { parentId: string; rootId: string; hostname: string }
    expect(seen.hostname).toBe('orders-worker')
    expect(seen.rootId).toBe(r.parent?.id)
    expect(seen.parentId).toBe(r.parent?.id)
  })
})

describe.skipIf(!up)("a global limiter (BullMQ's) spans the worker processes of a queue", () => {
  const prefix = `celeriac-limiter-${randomUUID()}`
  const apps: Celeriac[] = []
  afterAll(async () => {
    for (const app of apps) await app.stop()
    await deleteKeys(prefix)
  })

  it('two workers with { max: 2, duration: 500 } start at most 2 tasks per 500 ms between them', async () => {
    const limiter = { max: 2, duration: 500 }
    const stamp = (app: Celeriac) => app.task('clock.stamp', () => Date.now())
    for (const name of ['limited-a', 'limited-b']) {
      const worker = new Celeriac({ name, transport: bullmqTransport({ connection: { ...REDIS }, prefix, limiter }) })
      stamp(worker)
      apps.push(worker)
      await worker.start()
    }
    const producer = new Celeriac({ name: 'limited-producer', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    apps.push(producer)
    const task = stamp(producer)
    await producer.start()
    const results = await Promise.all(Array.from({ length: 6 }, () => task.delay()))
    const starts = (await Promise.all(results.map((r) => r.get(WAIT)))).sort((a, b) => a - b)
    // Without the limiter all six start within milliseconds; with it, each pair waits for a
    // window of its own (BullMQ counts starts per window in Redis), whichever process takes it.
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(limiter.duration - 50)
    expect(starts[4]! - starts[0]!).toBeGreaterThanOrEqual(2 * limiter.duration - 50)
  }, 20_000)
})

describe('storage and transport', () => {
  it('giving both is a ConfigError that says which to keep', () => {
    const store = memoryStorage()
    const both = (): Celeriac => new Celeriac({ storage: store, transport: loopbackBroker(store).transport() })
    expect(both).toThrow(ConfigError)
    expect(both).toThrow(/either a storage or a transport/)
  })
})
