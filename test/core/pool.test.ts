/**
 * What the pool posts to its workers, seen through a worker that only records: the
 * postMessage count is the main thread's cost per task, so how runs are grouped is behaviour.
 */
import { describe, expect, it } from 'vitest'
import { poolExecutor } from '../../src/core/executor/pool.js'
import type { PoolWorkerEvents } from '../../src/core/executor/pool-worker.js'
import type { FromRuntime, RunJob, RunStart, ToRuntime } from '../../src/core/model/protocol.js'
import { WIRE_VERSION, pushReport, readBatch } from '../../src/core/executor/wire.js'
import type { FromWorker, ToWorker } from '../../src/core/executor/wire.js'
import type { Encoded } from '../../src/core/model/json.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import { ConfigError, WorkerLoadError, WorkerLostError } from '../../src/core/model/errors.js'
import { decodeError } from '../../src/core/serializer/decode.js'
import { encodeError } from '../../src/core/serializer/encode.js'
import { virtualClock } from '../../src/testing.js'

function job(id: string, start: RunStart = 'report'): RunJob {
  return { message: { id, task: 't.add', acksLate: false } as TaskMessage, hostname: 'test', start }
}

async function setup(hear: (m: FromRuntime) => void = () => undefined) {
  /** What the pool posted, read back as the worker's runtime reads it. */
  const posts: ToRuntime[][] = []
  const received: FromRuntime[] = []
  const later: Array<() => void> = []
  /** What the pool said about the worker holding the host (Node's ref/unref). */
  const holds: boolean[] = []
  let events: PoolWorkerEvents | undefined
  const pool = poolExecutor({
    name: 'test pool',
    size: 1,
    tasksPerWorker: 1,
    prefetch: 4,
    moduleName: 'test',
    afterArrivals: (fn) => later.push(fn),
    spawn(e) {
      events = e
      queueMicrotask(() => e.message({ type: 'ready', wire: WIRE_VERSION, tasks: [{ name: 't.add', profile: {} as never }] }))
      return { post: (batch) => posts.push(readBack(batch)), terminate: () => undefined, hold: (held) => holds.push(held) }
    },
  })
  const receive = (m: FromRuntime): void => {
    received.push(m)
    hear(m)
  }
  await pool.start({ receive, lookup: () => undefined, clock: virtualClock(), hold: () => undefined })
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))
  const runAfterArrivals = (): void => {
    for (const fn of later.splice(0)) fn()
  }
  return { pool, posts, received, holds, events: events!, tick, runAfterArrivals }
}

/** A post to a worker, read back as its runtime reads it (through a structured clone, as it crosses). */
function readBack(batch: ToWorker): ToRuntime[] {
  const read: ToRuntime[] = []
  readBatch(structuredClone(batch), (m) => read.push(m))
  return read
}

const runIds = (batch: readonly ToRuntime[]): string[] => batch.flatMap((m) => (m.type === 'run' ? m.jobs.map((j) => j.message.id) : []))
/** Each run posted in `batches`, as `id start`. */
const runStarts = (batches: readonly ToRuntime[][]): string[] =>
  batches.flatMap((batch) => batch.flatMap((m) => (m.type === 'run' ? m.jobs.map((j) => `${j.message.id} ${j.start}`) : [])))
/** A worker's word that run `id` succeeded, with no hooks to follow. */
const succeeded = (id: string): FromRuntime[] => [{ type: 'outcome', id, hooks: false, outcome: { type: 'success', value: 1 } }]

describe('the pool', () => {
  it('at stop, retires a worker that holds no run (when its kind can) and terminates one that holds a run', async () => {
    const ended: string[] = []
    let n = 0
    const pool = poolExecutor({
      name: 'test pool',
      size: 2,
      tasksPerWorker: 1,
      prefetch: 4,
      moduleName: 'test',
      spawn(e) {
        const worker = n++
        queueMicrotask(() => e.message({ type: 'ready', wire: WIRE_VERSION, tasks: [{ name: 't.add', profile: {} as never }] }))
        return { post: () => undefined, terminate: () => void ended.push(`terminated ${worker}`), retire: () => void ended.push(`retired ${worker}`) }
      },
    })
    await pool.start({ receive: () => undefined, lookup: () => undefined, clock: virtualClock(), hold: () => undefined })
    pool.post({ type: 'run', jobs: [job('a')] })
    await pool.stop()
    expect(ended.sort()).toEqual(['retired 1', 'terminated 0'])
  })

  it('counts a run sent to an idle worker as started when it sends it, and says so to the engine', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    expect(t.received).toEqual([{ type: 'started', id: 'a' }])
    await t.tick()
    expect(t.posts).toHaveLength(1)
    const [run] = t.posts[0]!
    expect(run).toMatchObject({ type: 'run', jobs: [{ message: { id: 'a' }, start: 'on-arrival' }] })
  })

  it('posts what an idle worker starts before the run post returns, the runs dispatched with it in the same message', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a'), job('b')] })
    expect(t.posts.map(runIds)).toEqual([['a', 'b']])
    await t.tick()
    t.runAfterArrivals()
    expect(t.posts).toHaveLength(1)
  })

  it('still posts a run to its worker when the engine throws while hearing that it started', async () => {
    let fail = true
    const t = await setup((m) => {
      if (m.type === 'started' && fail) {
        fail = false
        throw new Error('a listener failed')
      }
    })
    expect(() => t.pool.post({ type: 'run', jobs: [job('a')] })).toThrow('a listener failed')
    // Not stuck in the worker's outbox, nor the runs sent to it after.
    expect(t.posts.map(runIds)).toEqual([['a']])
    t.pool.post({ type: 'run', jobs: [job('b')] })
    t.runAfterArrivals()
    expect(t.posts.map(runIds)).toEqual([['a'], ['b']])
  })

  it('sends a run whose start is recorded as it is to an idle worker, which says started; the engine hears it counted on arrival', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a', 'record'), job('b', 'lease-first')] })
    await t.tick()
    expect(t.received).toEqual([{ type: 'started', id: 'a', onArrival: true }])
    t.runAfterArrivals()
    expect(runStarts(t.posts)).toEqual(['a record', 'b lease-first'])
  })

  it('holds the runs for a busy worker until the arrivals are handled, then posts them together', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b')] })
    t.pool.post({ type: 'run', jobs: [job('c')] })
    await t.tick()
    expect(t.posts.map(runIds)).toEqual([['a']])
    t.runAfterArrivals()
    expect(t.posts.map(runIds)).toEqual([['a'], ['b', 'c']])
    // Held runs report their own start: they wait behind another.
    const held = t.posts[1]!.flatMap((m) => (m.type === 'run' ? m.jobs : []))
    expect(held.every((j) => j.start === 'report')).toBe(true)
    expect(t.received).toEqual([{ type: 'started', id: 'a' }])
  })

  it('sends a cancel within the tick, taking the held runs with it', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b')] })
    t.pool.post({ type: 'cancel', id: 'a', reason: 'soft-time-limit' })
    await t.tick()
    expect(t.posts[1]!.map((m) => m.type)).toEqual(['run', 'cancel'])
    t.runAfterArrivals()
    expect(t.posts).toHaveLength(2)
  })

  it('lets an idle worker not hold the host: held from its first run to the end of its last', async () => {
    const t = await setup()
    // Ready with nothing to do: the app's keepAlive alone decides whether the process stays up.
    expect(t.holds).toEqual([false])
    t.pool.post({ type: 'run', jobs: [job('a')] })
    t.pool.post({ type: 'run', jobs: [job('b')] })
    expect(t.holds).toEqual([false, true])
    t.events.message(succeeded('a'))
    expect(t.holds).toEqual([false, true])
    t.events.message([{ type: 'started', id: 'b' }])
    t.events.message([{ type: 'outcome', id: 'b', hooks: true, outcome: { type: 'success', value: 1 } }])
    // Its hooks still run: still held.
    expect(t.holds).toEqual([false, true])
    t.events.message([{ type: 'finished', id: 'b' }])
    expect(t.holds).toEqual([false, true, false])
  })

  it('treats a worker as idle again once its runs are done', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.events.message(succeeded('a'))
    t.pool.post({ type: 'run', jobs: [job('b')] })
    await t.tick()
    expect(t.posts.map(runIds)).toEqual([['a'], ['b']])
    expect(t.received.filter((m) => m.type === 'started')).toEqual([
      { type: 'started', id: 'a' },
      { type: 'started', id: 'b' },
    ])
  })

  it('starts the first of the runs it held back on arrival when the worker finished all it held meanwhile', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b'), job('c')] })
    // The outcome that made room for them arrives before they go: the worker holds nothing.
    t.events.message(succeeded('a'))
    t.runAfterArrivals()
    expect(runStarts([t.posts[1]!])).toEqual(['b on-arrival', 'c report'])
    expect(t.received.filter((m) => m.type === 'started')).toEqual([
      { type: 'started', id: 'a' },
      { type: 'started', id: 'b' },
    ])
  })

  it('never sends a worker a held run revoked before it went (an idle worker would start it ahead of the cancel behind it)', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b'), job('c')] })
    // 'a' is done and 'b' revoked before the held runs go: the worker holds nothing, and 'c'
    // is the run it starts on arrival.
    t.events.message(succeeded('a'))
    t.pool.post({ type: 'cancel', id: 'b', reason: 'revoked' })
    await t.tick()
    t.runAfterArrivals()
    expect(runStarts(t.posts.slice(1))).toEqual(['c on-arrival'])
    expect(t.received.filter((m) => m.type === 'started')).toEqual([
      { type: 'started', id: 'a' },
      { type: 'started', id: 'c' },
    ])
  })

  it('passes on reports in tuple form for runs in any order, and for a run it no longer holds, under their ids', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a'), job('b'), job('c')] })
    await t.tick()
    // As they cross from a worker: `started` and a plain success as tuples, with copies of the ids.
    const cross = (...reports: FromRuntime[]): void => {
      const post: Array<Encoded | FromRuntime> = []
      for (const report of reports) pushReport(post, report)
      t.events.message(structuredClone(post))
    }
    // 'b' is revoked while held; the worker started it before the cancel came, then reports it.
    t.pool.post({ type: 'cancel', id: 'b', reason: 'revoked' })
    cross({ type: 'started', id: 'c' }, ...succeeded('c'), { type: 'started', id: 'b' }, ...succeeded('b'), ...succeeded('a'))
    expect(t.received.map((m) => `${m.type} ${m.id}`)).toEqual(['started a', 'started c', 'outcome c', 'started b', 'outcome b', 'outcome a'])
    // It holds nothing now: the next run starts on arrival.
    t.pool.post({ type: 'run', jobs: [job('d')] })
    await t.tick()
    expect(runStarts(t.posts)).toEqual(['a on-arrival', 'b report', 'c report', 'd on-arrival'])
  })

  it('keeps held runs reporting their own start while the worker still holds one sent before', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a'), job('b')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('c')] })
    t.runAfterArrivals()
    // 'a' is done, 'b' (sent before) is not: 'c' waits behind it.
    t.events.message(succeeded('a'))
    t.pool.post({ type: 'run', jobs: [job('d')] })
    t.runAfterArrivals()
    expect(runStarts(t.posts)).toEqual(['a on-arrival', 'b report', 'c report', 'd report'])
  })
})

/**
 * How a fake worker answers its load: it loads, its module throws, it never answers, it cannot be
 * made, or it is another celeriac's: its hello says another protocol version, or none (a build
 * from before versions were said).
 */
type LoadPlan = 'loads' | 'throws' | 'hangs' | 'refused' | 'other-wire' | 'unversioned' | 'posts-null'

/**
 * A pool of fake workers whose loads follow `plan` (one entry per spawn, the last repeated), on a
 * virtual clock: the backoff and loadTimeout run in virtual time.
 */
async function loadingPool(plan: LoadPlan[], options: { size?: number; loadTimeout?: number } = {}) {
  const clock = virtualClock()
  const received: FromRuntime[] = []
  /** What the pool posted, read back as the worker's runtime reads it. */
  const posts: ToRuntime[][] = []
  const workers: PoolWorkerEvents[] = []
  const terminated: number[] = []
  let holds = 0
  let held = 0
  const pool = poolExecutor({
    name: 'test pool',
    size: options.size ?? 1,
    tasksPerWorker: 1,
    prefetch: 1,
    moduleName: 'file:///tasks.js',
    loadTimeout: options.loadTimeout ?? 1_000,
    loadBackoff: { initial: 100, max: 400 },
    spawn(e) {
      const n = workers.push(e) - 1
      const step = plan[Math.min(n, plan.length - 1)]!
      if (step === 'refused') throw new ConfigError('the worker entry /x/node-worker.js does not exist')
      if (step === 'loads') queueMicrotask(() => e.message({ type: 'ready', wire: WIRE_VERSION, tasks: [{ name: 't.add', profile: {} as never }] }))
      else if (step === 'throws')
        queueMicrotask(() => e.message({ type: 'init-failed', wire: WIRE_VERSION, error: encodeError(new Error(`load ${String(n)} failed`)) }))
      else if (step === 'other-wire')
        queueMicrotask(() => e.message({ type: 'ready', wire: WIRE_VERSION + 1, tasks: [{ name: 't.add', profile: {} as never }] }))
      else if (step === 'unversioned')
        queueMicrotask(() => e.message({ type: 'ready', tasks: [{ name: 't.add', profile: {} as never }] } as unknown as FromWorker))
      // A worker script of the app's that posts something of its own before celeriac's hello.
      else if (step === 'posts-null') queueMicrotask(() => e.message(null as unknown as FromWorker))
      return {
        post: (batch) => posts.push(readBack(batch)),
        terminate: () => {
          terminated.push(n)
          e.exit(undefined)
        },
      }
    },
  })
  const start = pool.start({
    receive: (m) => received.push(m),
    lookup: () => undefined,
    clock,
    hold: (work) => {
      holds++
      held++
      void work.finally(() => held--)
    },
  })
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))
  /** The error each run failed with, by id. */
  const failures = (): Map<string, Error> =>
    new Map(received.flatMap((m) => (m.type === 'outcome' && m.outcome.type === 'failure' ? [[m.id, decodeError(m.outcome.error)]] : [])))
  return {
    pool,
    start,
    clock,
    received,
    posts,
    workers,
    terminated,
    tick,
    failures,
    holds: () => ({ holds, held }),
    replace: (plan_: LoadPlan[]) => plan.splice(0, plan.length, ...plan_),
  }
}

describe('the pool heals', () => {
  it('loads a replacement again after failed loads, backing off on the engine clock, and runs what waited on it', async () => {
    const t = await loadingPool(['loads', 'throws', 'throws', 'throws', 'loads'])
    await t.start
    t.workers[0]!.exit(new Error('crashed'))
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    // The first replacement failed; the next load is due after 100 ms, then 200, then 400.
    expect(t.workers).toHaveLength(2)
    const t0 = t.clock.now()
    expect(t.pool.health!()).toMatchObject({ size: 1, live: 0, loading: 0, failedLoads: 1, lastLoadError: 'load 1 failed', replaced: 1, nextLoadAt: t0 + 100 })
    await t.clock.advance(99)
    expect(t.workers).toHaveLength(2)
    await t.clock.advance(1)
    await t.tick()
    expect(t.workers).toHaveLength(3)
    await t.clock.advance(199)
    expect(t.workers).toHaveLength(3)
    await t.clock.advance(1)
    await t.tick()
    expect(t.workers).toHaveLength(4)
    expect(t.pool.health!().nextLoadAt).toBe(t.clock.now() + 400)
    await t.clock.advance(400)
    await t.tick()
    expect(t.workers).toHaveLength(5)
    expect(t.pool.health!()).toMatchObject({
      live: 1,
      loading: 0,
      failedLoads: 3,
      lastLoadError: 'load 3 failed',
      replaced: 1,
      nextLoadAt: null,
      failing: false,
    })
    // The run that waited went to the healed worker, and nothing failed.
    expect(t.posts.flatMap(runIds)).toEqual(['a'])
    expect(t.received).toContainEqual({ type: 'started', id: 'a' })
    expect(t.failures().size).toBe(0)
  })

  it('holds the engine while a run waits for a worker that is loading, so a virtual clock waits for the load', async () => {
    const t = await loadingPool(['loads', 'hangs'])
    await t.start
    t.workers[0]!.exit(new Error('crashed'))
    t.pool.post({ type: 'run', jobs: [job('a')] })
    expect(t.holds()).toEqual({ holds: 1, held: 1 })
    t.workers[1]!.message({ type: 'ready', wire: WIRE_VERSION, tasks: [{ name: 't.add', profile: {} as never }] })
    await t.tick()
    expect(t.holds()).toEqual({ holds: 1, held: 0 })
    expect(t.posts.flatMap(runIds)).toEqual(['a'])
  })

  it('fails the runs that wait with WorkerLoadError once no worker loaded within loadTimeout, fails new ones at once, and heals later', async () => {
    const t = await loadingPool(['loads', 'throws'], { loadTimeout: 1_000 })
    await t.start
    t.workers[0]!.exit(new Error('crashed'))
    const down = t.clock.now()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    await t.clock.advance(999)
    expect(t.failures().size).toBe(0)
    expect(t.pool.health!().failing).toBe(false)
    await t.clock.advance(1)
    const error = t.failures().get('a')
    expect(error).toBeInstanceOf(WorkerLoadError)
    expect((error as WorkerLoadError).code).toBe('WORKER_LOAD')
    expect((error as WorkerLoadError).module).toBe('file:///tasks.js')
    expect(error!.message).toContain('within loadTimeout (1000 ms')
    expect(error!.message).toMatch(/the last: load \d+ failed/)
    expect(t.clock.now()).toBe(down + 1_000)
    expect(t.pool.health!()).toMatchObject({ live: 0, failing: true })
    // Nothing waits now: the next retry is housekeeping, not work for runAll to wait for.
    expect(t.pool.health!().nextLoadAt).not.toBeNull()
    expect(t.clock.pending()).toBe(0)
    // Still failing: a new run fails at once instead of waiting for good.
    t.pool.post({ type: 'run', jobs: [job('b')] })
    expect(t.failures().get('b')).toBeInstanceOf(WorkerLoadError)
    // The pool keeps trying (every 400 ms at most) and heals once the module loads.
    t.replace(['loads'])
    await t.clock.advance(400)
    await t.tick()
    expect(t.pool.health!()).toMatchObject({ live: 1, failing: false })
    t.pool.post({ type: 'run', jobs: [job('c')] })
    await t.tick()
    expect(t.posts.flatMap(runIds)).toEqual(['c'])
    expect([...t.failures().keys()]).toEqual(['a', 'b'])
  })

  it('gives a run held behind a full worker the same deadline when that worker dies and no other loads', async () => {
    const t = await loadingPool(['loads', 'throws'], { loadTimeout: 1_000 })
    await t.start
    t.pool.post({ type: 'run', jobs: [job('a'), job('b')] })
    await t.tick()
    expect(t.posts.flatMap(runIds)).toEqual(['a'])
    t.workers[0]!.exit(new Error('crashed'))
    expect(t.failures().get('a')).toBeInstanceOf(WorkerLostError)
    // Loads fail at +0, +100, +300, +700 and +1100 ms: 'b' fails at its deadline, +1000 ms.
    await t.clock.advance(1_000)
    expect(t.failures().get('b')).toBeInstanceOf(WorkerLoadError)
  })

  it('retries in the background when nothing waits, so runAll does not chase a module that never loads', async () => {
    const t = await loadingPool(['loads', 'throws'])
    await t.start
    t.workers[0]!.exit(new Error('crashed'))
    await t.tick()
    expect(t.pool.health!().nextLoadAt).not.toBeNull()
    expect(t.clock.pending()).toBe(0)
    await t.clock.advance(10_000)
    expect(t.pool.health!()).toMatchObject({ live: 0, loading: 0, failing: true })
    expect(t.pool.health!().failedLoads).toBeGreaterThan(5)
  })

  it('starts when some workers load, and loads the others with backoff', async () => {
    const t = await loadingPool(['loads', 'throws', 'loads'], { size: 2 })
    await t.start
    expect(t.pool.health!()).toMatchObject({ size: 2, live: 1, failedLoads: 1, lastLoadError: 'load 1 failed' })
    expect(t.received).toContainEqual({ type: 'log', id: '', level: 'error', text: 'test pool: load 1 failed' })
    await t.clock.advance(100)
    await t.tick()
    expect(t.pool.health!()).toMatchObject({ live: 2, loading: 0, nextLoadAt: null })
  })

  it('ends a worker that is loading when the pool stops, and lets go of the engine', async () => {
    const t = await loadingPool(['loads', 'hangs'])
    await t.start
    t.workers[0]!.exit(new Error('crashed'))
    t.pool.post({ type: 'run', jobs: [job('a')] })
    expect(t.holds().held).toBe(1)
    await t.pool.stop()
    expect(t.terminated).toEqual([1])
    expect(t.holds().held).toBe(0)
    await t.clock.advance(10_000)
    expect(t.workers).toHaveLength(2)
  })

  it('rejects start() at once with a ConfigError when no worker loads, and leaves no retry behind', async () => {
    const t = await loadingPool(['throws'], { size: 2 })
    const error = await t.start.then(
      () => expect.unreachable('start() should reject'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('load 0 failed')
    await t.clock.advance(10_000)
    expect(t.workers).toHaveLength(2)
  })

  it('ends a worker that does not load within loadTimeout (real time: a load is I/O): a failed load', async () => {
    const t = await loadingPool(['hangs'], { loadTimeout: 20 })
    const error = await t.start.then(
      () => expect.unreachable('start() should reject'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('did not load file:///tasks.js within loadTimeout (20 ms)')
    expect(t.terminated).toEqual([0])
  })

  it.each([
    ['another version', 'other-wire', `version ${String(WIRE_VERSION + 1)}`],
    ['no version (a build from before versions were said)', 'unversioned', 'a version from before versions were said'],
  ] as const)('rejects start() at once with a ConfigError saying what to do when a worker says %s of the protocol, and ends it', async (_label, plan, said) => {
    const t = await loadingPool([plan], { loadTimeout: 600_000 })
    const error = await t.start.then(
      () => expect.unreachable('start() should reject'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect((error as Error).message).toBe(
      `test pool: a worker loading file:///tasks.js speaks ${said} of celeriac's worker protocol, and this celeriac speaks version ${String(WIRE_VERSION)}: its worker entry comes from another celeriac (another version or build); use the worker entry of the celeriac this app runs`,
    )
    expect(t.terminated).toEqual([0])
  })

  it('rejects start() at once with a ConfigError when a worker posts something else (null) before its hello, and ends it', async () => {
    const t = await loadingPool(['posts-null'], { loadTimeout: 600_000 })
    const error = await t.start.then(
      () => expect.unreachable('start() should reject'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(
      "test pool: a worker loading file:///tasks.js posted null before celeriac's hello: its script must post nothing before celeriac's worker entry (or serveWorker) says the hello, and that entry must be this celeriac's; use the worker entry of the celeriac this app runs",
    )
    expect(t.terminated).toEqual([0])
  })

  it('rejects start() with the ConfigError a worker shell throws when it cannot make a worker, as it is', async () => {
    const t = await loadingPool(['refused'])
    const error = await t.start.then(
      () => expect.unreachable('start() should reject'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe('the worker entry /x/node-worker.js does not exist')
  })

  it.each([
    ['a negative loadTimeout', { loadTimeout: -1 }, 'loadTimeout must be a number of ms >= 0'],
    ['a zero backoff', { loadBackoff: { initial: 0 } }, 'loadBackoff.initial must be a finite number of ms > 0'],
    ['a max below initial', { loadBackoff: { initial: 500, max: 100 } }, 'loadBackoff.max must be a finite number of ms >= loadBackoff.initial (500)'],
  ])('refuses %s with a ConfigError', (_label, load, message) => {
    const make = () =>
      poolExecutor({
        name: 'test pool',
        size: 1,
        tasksPerWorker: 1,
        prefetch: 1,
        moduleName: 'm',
        ...load,
        spawn: () => ({ post: () => undefined, terminate: () => undefined }),
      })
    expect(make).toThrow(ConfigError)
    expect(make).toThrow(message)
  })
})
