/**
 * The benchmark cases: for each, celeriac and the peers measured the same way. Every
 * implementation runs in a fresh process (see case-runner.ts), so one's garbage and JIT state
 * never weigh on another.
 */
import { mkdtempSync, openSync, rmSync, writeSync, fdatasyncSync, closeSync, statSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { BackendFactory, ConnectionOptions, IQueueBackend } from 'bullmq'
import type { Config } from '../src/index.js'
import { quantile } from './stats.js'

// celeriac as users get it: the built package (run.ts builds it first), typed from the source.
// Measuring the source through tsx would add tsx's per-closure name helper to every task.
const built = (file: string): string => new URL(`../dist/${file}`, import.meta.url).href
const { Celeriac, chain, chord, inline, memoryStorage } = (await import(built('index.js'))) as typeof import('../src/index.js')
const { fileStorage, threads } = (await import(built('node.js'))) as typeof import('../src/node.js')
const { virtualClock } = (await import(built('testing.js'))) as typeof import('../src/testing.js')
const { bullmqBackend } = (await import(built('bullmq.js'))) as typeof import('../src/bullmq/index.js')
type Celeriac = InstanceType<typeof Celeriac>

export interface Measurement {
  /** The case's metric. */
  value: number
  /** Other figures worth printing (e.g. p99 next to p50). */
  extra?: Record<string, number>
}

type Impl = (size: number) => Promise<Measurement>

export interface BenchCase {
  readonly name: string
  readonly title: string
  readonly unit: string
  readonly better: 'higher' | 'lower'
  /** Work per measurement: default and `--quick`. */
  readonly size: { full: number; quick: number }
  /** celeriac first; the rest are peers. */
  readonly impls: Readonly<Record<string, Impl>>
  /** What we aim for, as an advantage over the named peer (see stats.advantage). */
  readonly target?: { peer: string; advantage: number; text: string }
  /** An absolute goal for celeriac's median, when there is no peer to compare with. */
  readonly goal?: { readonly at: 'most' | 'least'; readonly value: number; readonly text: string }
  /** Rounds, when the default is too many for a slow case. */
  readonly rounds?: number
  /** Node flags the runner needs (e.g. --expose-gc). */
  readonly nodeFlags?: readonly string[]
  /** Why the case cannot run here, or undefined when it can. */
  readonly unavailable?: () => Promise<string | undefined>
}

const here = (path: string): URL => new URL(path, import.meta.url)
const elapsed = (start: number): number => (performance.now() - start) / 1000

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'celeriac-bench-'))
}

async function redisUnavailable(): Promise<string | undefined> {
  const { createConnection } = await import('node:net')
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 6379 })
    socket.once('connect', () => {
      socket.end()
      resolve(undefined)
    })
    socket.once('error', () => resolve('Redis is not reachable on 127.0.0.1:6379 (start redis-server to run this case)'))
  })
}

// ---- inline + memory --------------------------------------------------------------------------

/**
 * The throughput shape most cases share: an app with a trivial `bench.add`, n sends made at
 * once, timed until they are stored (`idle: false`) or all run (`idle: true`); tasks/s.
 */
async function sendsPerSecond(config: Config, n: number, idle: boolean, warm = false): Promise<Measurement> {
  const app = new Celeriac(config)
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  if (warm) await warmCeleriac(app)
  const start = performance.now()
  const sends = new Array<Promise<unknown>>(n)
  for (let i = 0; i < n; i++) sends[i] = add.delay(i, i)
  await Promise.all(sends)
  if (idle) await app.whenIdle()
  const seconds = elapsed(start)
  await app.stop()
  return { value: n / seconds }
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir()
  try {
    return await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function celeriacInline(n: number): Promise<Measurement> {
  return sendsPerSecond({ storage: memoryStorage(), executor: inline(), queues: { default: { concurrency: 16 } } }, n, true)
}

async function pQueue(n: number): Promise<Measurement> {
  const { default: PQueue } = await import('p-queue')
  const queue = new PQueue({ concurrency: 16 })
  const add = (a: number, b: number): number => a + b
  const start = performance.now()
  const runs = new Array<Promise<unknown>>(n)
  for (let i = 0; i < n; i++) runs[i] = queue.add(() => add(i, i))
  await Promise.all(runs)
  await queue.onIdle()
  return { value: n / elapsed(start) }
}

/**
 * 10k tasks with countdowns spread over 30 days, a quarter of them failing twice and retrying
 * with exponential backoff, all run to completion by the virtual clock's runAll.
 */
async function celeriacVirtualMonth(n: number): Promise<Measurement> {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  const flaky = app.task('bench.flaky', { bind: true, retryBackoff: 60_000, retryJitter: false, maxRetries: 5 }, (self, a: number) => {
    if (self.request.retries < 2) throw self.retry()
    return a
  })
  await app.start()
  const month = 30 * 24 * 3_600_000
  const start = performance.now()
  const sends = new Array<Promise<unknown>>(n)
  for (let i = 0; i < n; i++) {
    const countdown = Math.floor((i / n) * month)
    sends[i] = i % 4 === 0 ? flaky.applyAsync([i], { countdown }) : add.applyAsync([i, i], { countdown })
  }
  await Promise.all(sends)
  await clock.runAll({ limit: n * 10 })
  await app.whenIdle()
  const ms = performance.now() - start
  await app.stop()
  return { value: ms }
}

/**
 * Periodic tasks under the virtual clock (issue 18): an every-minute schedule advanced through
 * `days` virtual days, each slot its own virtual instant, run and stored; wall time of the advance.
 */
async function celeriacScheduleMonth(days: number): Promise<Measurement> {
  const clock = virtualClock({ now: Date.UTC(2026, 0, 5) })
  const app = new Celeriac({ clock })
  let ran = 0
  const tick = app.task('bench.tick', () => {
    ran++
  })
  await app.start()
  await app.schedules.upsert('minutely', { every: 60_000 }, tick.s())
  const start = performance.now()
  await clock.advance(days * 24 * 3_600_000)
  const ms = performance.now() - start
  await app.stop()
  if (ran !== days * 24 * 60) throw new Error(`schedule-month: ${String(ran)} slots ran, expected ${String(days * 24 * 60)}`)
  return { value: ms, extra: { slots: ran } }
}

/** One task at a time: delay then get, on the embedded default. */
async function celeriacLatency(n: number): Promise<Measurement> {
  const app = new Celeriac()
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  for (let i = 0; i < 1_000; i++) await (await add.delay(i, i)).get()
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await (await add.delay(i, i)).get()
    samples.push(performance.now() - start)
  }
  await app.stop()
  return latencies(samples)
}

async function bullmqLatency(n: number): Promise<Measurement> {
  const { Queue, Worker: BullWorker, QueueEvents } = await import('bullmq')
  const connection = { host: '127.0.0.1', port: 6379 }
  const name = `celeriac-latency-${process.pid}-${Date.now()}`
  const queue = new Queue(name, { connection })
  const events = new QueueEvents(name, { connection })
  await events.waitUntilReady()
  const worker = new BullWorker(name, async (job) => (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b, { connection })
  try {
    await worker.waitUntilReady()
    for (let i = 0; i < 100; i++) await (await queue.add('add', { a: i, b: i })).waitUntilFinished(events)
    const samples: number[] = []
    for (let i = 0; i < n; i++) {
      const start = performance.now()
      // Kept until the end (obliterate): removing on completion races waitUntilFinished.
      await (await queue.add('add', { a: i, b: i })).waitUntilFinished(events)
      samples.push(performance.now() - start)
    }
    return latencies(samples)
  } finally {
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    await events.close()
  }
}

/** A chord of n adds into a sum: wall time, and heap bytes per task while it is all stored. */
async function celeriacChord(n: number): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc
  const app = new Celeriac()
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  const sum = app.task('bench.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))
  await app.start()
  gc?.()
  const before = process.memoryUsage().heapUsed
  const start = performance.now()
  const header = new Array<ReturnType<typeof add.s>>(n)
  for (let i = 0; i < n; i++) header[i] = add.s(i, i)
  const r = await chord(header, sum.s()).delay()
  const total = await r.get()
  const ms = performance.now() - start
  gc?.()
  const bytes = (process.memoryUsage().heapUsed - before) / (n + 1)
  await app.stop()
  if (total !== n * (n - 1)) throw new Error(`chord sum ${String(total)} is wrong`)
  return { value: ms, extra: { bytesPerTask: bytes } }
}

/** A chain of n adds: wall time. */
async function celeriacChain(n: number): Promise<Measurement> {
  const app = new Celeriac()
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  const start = performance.now()
  const steps = [add.s(0, 1), ...Array.from({ length: n - 1 }, () => add.s(1))] as [ReturnType<typeof add.s>, ...Array<ReturnType<typeof add.s>>]
  const r = await (chain as (...s: unknown[]) => { delay(): Promise<{ get(): Promise<unknown> }> })(...steps).delay()
  const total = await r.get()
  const ms = performance.now() - start
  await app.stop()
  if (total !== n) throw new Error(`chain result ${String(total)} is wrong`)
  return { value: ms }
}

/** Pending delayed tasks in memory: enqueue time for 100k and for 1M, and their ratio. */
async function celeriacScale(n: number): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc
  const enqueue = async (n: number): Promise<{ ms: number; bytes: number }> => {
    const app = new Celeriac({ clock: virtualClock() })
    const add = app.task('bench.add', (a: number, b: number) => a + b)
    await app.start()
    gc?.()
    const before = process.memoryUsage().heapUsed
    const start = performance.now()
    for (let i = 0; i < n; i += 10_000) {
      const batch = []
      for (let j = i; j < Math.min(n, i + 10_000); j++) batch.push(add.applyAsync([j, j], { countdown: 3_600_000 + j }))
      await Promise.all(batch)
    }
    const ms = performance.now() - start
    gc?.()
    const bytes = (process.memoryUsage().heapUsed - before) / n
    await app.stop()
    return { ms, bytes }
  }
  const small = await enqueue(n / 10)
  gc?.()
  const large = await enqueue(n)
  return { value: large.ms / small.ms, extra: { msSmall: small.ms, msLarge: large.ms, bytesPerTaskLarge: large.bytes } }
}

async function celeriacPendingMemory(n: number): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  const app = new Celeriac({ clock: virtualClock() })
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  gc()
  const before = process.memoryUsage().heapUsed
  const handles = []
  for (let i = 0; i < n; i++) handles.push(await add.applyAsync([i, i], { countdown: 3_600_000 }))
  handles.length = 0
  gc()
  const after = process.memoryUsage().heapUsed
  await app.stop()
  return { value: (after - before) / n }
}

// ---- threads ------------------------------------------------------------------------------------

const SIZE = 2

async function celeriacThreadsThroughput(n: number): Promise<Measurement> {
  return sendsPerSecond({ executor: threads({ module: here('./fixtures/celeriac-worker.mjs'), size: SIZE }) }, n, true, true)
}

async function warmCeleriac(app: Celeriac): Promise<void> {
  const warm = []
  for (let i = 0; i < 1_000; i++) warm.push(app.sendTask('bench.add', [i, i]))
  await Promise.all(warm)
  await app.whenIdle()
}

async function piscinaPool() {
  const { Piscina } = await import('piscina')
  const pool = new Piscina({ filename: here('./fixtures/piscina-worker.mjs').href, minThreads: SIZE, maxThreads: SIZE })
  const warm = []
  for (let i = 0; i < 1_000; i++) warm.push(pool.run({ a: i, b: i }))
  await Promise.all(warm)
  return pool
}

async function piscinaThroughput(n: number): Promise<Measurement> {
  const pool = await piscinaPool()
  const start = performance.now()
  const runs = new Array<Promise<unknown>>(n)
  for (let i = 0; i < n; i++) runs[i] = pool.run({ a: i, b: i })
  await Promise.all(runs)
  const seconds = elapsed(start)
  await pool.destroy()
  return { value: n / seconds }
}

function latencies(samples: number[]): Measurement {
  return { value: quantile(samples, 0.5), extra: { p99: quantile(samples, 0.99) } }
}

async function celeriacThreadsLatency(n: number): Promise<Measurement> {
  const app = new Celeriac({ executor: threads({ module: here('./fixtures/celeriac-worker.mjs'), size: SIZE }) })
  await app.start()
  await warmCeleriac(app)
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await (await app.sendTask('bench.add', [i, i])).get()
    samples.push(performance.now() - start)
  }
  await app.stop()
  return latencies(samples)
}

async function piscinaLatency(n: number): Promise<Measurement> {
  const pool = await piscinaPool()
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await pool.run({ a: i, b: i })
    samples.push(performance.now() - start)
  }
  await pool.destroy()
  return latencies(samples)
}

async function rawRoundTrip(n: number): Promise<Measurement> {
  const worker = new Worker(here('./fixtures/echo-worker.mjs'))
  const ask = (i: number): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once('message', resolve)
      worker.postMessage({ a: i, b: i })
    })
  for (let i = 0; i < 1_000; i++) await ask(i)
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await ask(i)
    samples.push(performance.now() - start)
  }
  await worker.terminate()
  return latencies(samples)
}

// ---- file storage -------------------------------------------------------------------------------

async function celeriacFileEndToEnd(n: number): Promise<Measurement> {
  return inTempDir((dir) => sendsPerSecond({ storage: fileStorage({ dir }), queues: { default: { concurrency: 16 } } }, n, true))
}

/**
 * n tasks on file storage (fsync), concurrency 16, each reporting 100 progress steps with a turn
 * of the event loop between them (a chunk of work reporting every 1%): tasks/s, and the bytes the
 * journal holds once all have run (load-independent, unlike the rate).
 */
async function celeriacProgressHeavy(n: number): Promise<Measurement> {
  const { readdirSync } = await import('node:fs')
  return inTempDir(async (dir) => {
    const app = new Celeriac({ storage: fileStorage({ dir }), executor: inline(), queues: { default: { concurrency: 16 } } })
    const steps = app.task('bench.steps', { bind: true }, async (self, total: number) => {
      for (let i = 1; i <= total; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        self.progress(i, total)
      }
      return total
    })
    await app.start()
    const start = performance.now()
    const sends = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) sends[i] = steps.delay(100)
    await Promise.all(sends)
    await app.whenIdle()
    const seconds = elapsed(start)
    await app.stop()
    let journalBytes = 0
    for (const file of readdirSync(dir)) if (file.startsWith('journal-')) journalBytes += statSync(join(dir, file)).size
    return { value: n / seconds, extra: { journalBytes, journalBytesPerTask: journalBytes / n } }
  })
}

async function bullmqEndToEnd(n: number): Promise<Measurement> {
  const { Queue, Worker: BullWorker, QueueEvents } = await import('bullmq')
  const connection = { host: '127.0.0.1', port: 6379 }
  const name = `celeriac-bench-${process.pid}-${Date.now()}`
  const queue = new Queue(name, { connection })
  const events = new QueueEvents(name, { connection })
  await events.waitUntilReady()
  try {
    let completed = 0
    let resolveDone!: () => void
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    const start = performance.now()
    for (let i = 0; i < n; i += 1_000) {
      const jobs = []
      for (let j = i; j < Math.min(n, i + 1_000); j++) jobs.push({ name: 'add', data: { a: j, b: j }, opts: { removeOnComplete: true } })
      await queue.addBulk(jobs)
    }
    const worker = new BullWorker(name, async (job) => (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b, {
      connection,
      concurrency: 16,
    })
    worker.on('completed', () => {
      if (++completed === n) resolveDone()
    })
    await done
    const seconds = elapsed(start)
    await worker.close()
    return { value: n / seconds }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    await events.close()
  }
}

async function celeriacFileEnqueue(n: number): Promise<Measurement> {
  // Not consuming: this measures durable sends alone.
  return inTempDir((dir) => sendsPerSecond({ storage: fileStorage({ dir }), consume: false }, n, false))
}

/**
 * The floor under durable enqueue: the same number of records of a message's size, serialized
 * one by one, then written with one write and one fdatasync, as if every call had come in the
 * same instant. Nothing durable can be cheaper per record.
 */
async function rawFsyncFloor(n: number): Promise<Measurement> {
  const dir = tempDir()
  try {
    const fd = openSync(join(dir, 'floor.log'), 'a', 0o600)
    const start = performance.now()
    const parts: string[] = []
    for (let i = 0; i < n; i++) {
      parts.push(
        JSON.stringify([
          {
            op: 'put',
            ns: 'messages',
            key: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            value: { task: 'bench.add', args: [i, i], queue: 'default', priority: 0, eta: null, seq: i },
          },
        ]),
      )
    }
    writeSync(fd, Buffer.from(`[${parts.join(',')}]`))
    fdatasyncSync(fd)
    const seconds = elapsed(start)
    closeSync(fd)
    return { value: n / seconds }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function celeriacFileRecovery(n: number): Promise<Measurement> {
  const dir = tempDir()
  try {
    const writer = fileStorage({ dir, compactBytes: Number.MAX_SAFE_INTEGER })
    await writer.open()
    for (let i = 0; i < n; i += 10_000) {
      const batch = []
      for (let j = i; j < Math.min(n, i + 10_000); j++) {
        const id = `00000000-0000-4000-8000-${String(j).padStart(12, '0')}`
        batch.push(
          writer.write([
            {
              op: 'put',
              ns: 'messages',
              key: id,
              value: { id, task: 'bench.add', args: { $: 'a', v: [j, j] }, queue: 'default', priority: 0, eta: null, seq: j },
            },
          ]),
        )
      }
      await Promise.all(batch)
    }
    await writer.close()
    const start = performance.now()
    const reader = fileStorage({ dir })
    await reader.open()
    const seconds = elapsed(start)
    const count = (await reader.entries('messages')).length
    await reader.close()
    if (count !== n) throw new Error(`recovered ${count} of ${n} records`)
    return { value: seconds * 1_000 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---- the BullMQ backend (celeriac/bullmq) ---------------------------------------------------------

/**
 * Where one BullMQ measurement runs: the backend factory every class gets as its last argument,
 * the connection and prefix they get, and what to remove afterwards (called once every class is
 * closed). The same BullMQ code runs on each; only this differs.
 */
interface BullTarget {
  readonly factory: BackendFactory<IQueueBackend, ConnectionOptions>
  readonly connection: ConnectionOptions
  readonly prefix: string
  dispose(): Promise<void>
}

/** BullMQ's own Redis backend on the local Redis, under a prefix no one else uses. */
async function bullOnRedis(): Promise<BullTarget> {
  const { createRedisBackend } = await import('bullmq')
  return {
    factory: createRedisBackend as BackendFactory<IQueueBackend, ConnectionOptions>,
    connection: { host: '127.0.0.1', port: 6379 },
    prefix: `celeriac-bench-${process.pid}-${Date.now()}`,
    // The queue's obliterate removed its keys (the prefix is unique to this process).
    dispose: async () => undefined,
  }
}

/** celeriac's backend on a fresh memory storage. */
async function bullOnMemory(): Promise<BullTarget> {
  const storage = memoryStorage()
  return { factory: bullmqBackend({ storage }), connection: {}, prefix: 'bull', dispose: () => storage.close() }
}

/** celeriac's backend on a fresh file storage (fsync) in a temporary directory. */
async function bullOnFile(): Promise<BullTarget> {
  const dir = tempDir()
  const storage = fileStorage({ dir })
  return {
    factory: bullmqBackend({ storage }),
    connection: {},
    prefix: 'bull',
    async dispose() {
      await storage.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

interface AddJob {
  a: number
  b: number
}

/**
 * n jobs added with `queue.addBulk` (batches of 1,000, removeOnComplete), then one Worker at
 * concurrency 16 with a trivial processor, until its 'completed' event has fired n times. Timed
 * from the first addBulk to the last completion, so the adds are included (jobs/s); the adds and
 * the processing alone are the extras.
 */
async function bullThroughput(open: () => Promise<BullTarget>, n: number): Promise<Measurement> {
  const { Queue, Worker: BullWorker } = await import('bullmq')
  const target = await open()
  const { connection, prefix, factory } = target
  const name = 'bench-throughput'
  const queue = new Queue<AddJob, number, string, AddJob, number, string, IQueueBackend>(name, { connection, prefix }, factory)
  let worker: InstanceType<typeof BullWorker<AddJob, number, string, IQueueBackend>> | undefined
  try {
    await queue.waitUntilReady()
    let completed = 0
    let resolveDone!: () => void
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    const start = performance.now()
    for (let i = 0; i < n; i += 1_000) {
      const jobs = []
      for (let j = i; j < Math.min(n, i + 1_000); j++) jobs.push({ name: 'add', data: { a: j, b: j }, opts: { removeOnComplete: true } })
      await queue.addBulk(jobs)
    }
    const added = performance.now()
    worker = new BullWorker<AddJob, number, string, IQueueBackend>(
      name,
      async (job) => job.data.a + job.data.b,
      { connection, prefix, concurrency: 16 },
      factory,
    )
    worker.on('completed', () => {
      if (++completed === n) resolveDone()
    })
    await done
    const end = performance.now()
    const counts = await queue.getJobCounts('wait', 'active', 'completed', 'failed')
    if (counts.wait! + counts.active! + counts.completed! + counts.failed! !== 0) throw new Error(`jobs left: ${JSON.stringify(counts)}`)
    return { value: n / ((end - start) / 1000), extra: { addsPerSec: n / ((added - start) / 1000), processedPerSec: n / ((end - added) / 1000) } }
  } finally {
    await worker?.close()
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    await target.dispose()
  }
}

/**
 * One job at a time: `queue.add`, then the Worker's 'completed' event for that job (removeOnComplete,
 * concurrency 1), after 100 to warm up; p50, and p99 as an extra.
 */
async function bullLatency(open: () => Promise<BullTarget>, n: number): Promise<Measurement> {
  const { Queue, Worker: BullWorker } = await import('bullmq')
  const target = await open()
  const { connection, prefix, factory } = target
  const name = 'bench-latency'
  const queue = new Queue<AddJob, number, string, AddJob, number, string, IQueueBackend>(name, { connection, prefix }, factory)
  const worker = new BullWorker<AddJob, number, string, IQueueBackend>(name, async (job) => job.data.a + job.data.b, { connection, prefix }, factory)
  // The job awaited: matched on its data, so a completion that comes before add() answers counts.
  let awaited = -1
  let resolveAwaited: () => void = () => undefined
  worker.on('completed', (job) => {
    if (job.data.a === awaited) resolveAwaited()
  })
  const one = async (i: number): Promise<void> => {
    awaited = i
    const completed = new Promise<void>((resolve) => (resolveAwaited = resolve))
    await queue.add('add', { a: i, b: i }, { removeOnComplete: true })
    await completed
  }
  try {
    await queue.waitUntilReady()
    await worker.waitUntilReady()
    for (let i = 0; i < 100; i++) await one(i)
    const samples: number[] = []
    for (let i = 0; i < n; i++) {
      const start = performance.now()
      await one(100 + i)
      samples.push(performance.now() - start)
    }
    return latencies(samples)
  } finally {
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    await target.dispose()
  }
}

// ---- across processes: bullmqTransport vs raw BullMQ --------------------------------------------

/** Concurrency of every worker process, celeriac's queue and raw BullMQ's Worker alike. */
const TRANSPORT_CONCURRENCY = 16

/** A worker process of bench/fixtures/transport-worker.mjs: its CPU on request, and stop. */
interface BenchWorker {
  /** This process's CPU (user + system, µs) since it printed `ready`. */
  cpu(): Promise<number>
  stop(): Promise<void>
}

async function launchWorker(kind: 'celeriac' | 'raw' | 'celery', prefix: string, queue: string, env: NodeJS.ProcessEnv = process.env): Promise<BenchWorker> {
  const { spawn } = await import('node:child_process')
  const { childLines } = await import('../test/child-lines.js')
  // CELERIAC_BENCH_WORKER_FLAGS: Node flags for the worker processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const flags = process.env.CELERIAC_BENCH_WORKER_FLAGS?.split(' ').filter((f) => f !== '') ?? []
  const child = spawn(process.execPath, [...flags, here('./fixtures/transport-worker.mjs').pathname, kind, prefix, queue, String(TRANSPORT_CONCURRENCY)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  })
  const lines = childLines(child)
  await lines.waitFor((l) => l === 'ready', 'ready')
  let asked = 0
  return {
    async cpu() {
      const tag = `cpu ${String(++asked)} `
      child.stdin.write(`${tag}\n`)
      await lines.waitFor((l) => l.startsWith(tag), tag)
      return Number(lines.lines.find((l) => l.startsWith(tag))!.slice(tag.length))
    },
    async stop() {
      child.stdin.write('stop\n')
      await lines.exit
    },
  }
}

/** Redis's own CPU (µs, user + system, the whole server) and commands served so far. */
async function redisCounters(redis: import('ioredis').Redis): Promise<{ cpu: number; calls: number }> {
  const info = `${await redis.info('cpu')}\n${await redis.info('commandstats')}`
  const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1])
  return { cpu: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, calls }
}

/**
 * n trivial adds through Redis, processed by `workers` worker processes (each at concurrency 16),
 * celeriac's bullmqTransport or raw BullMQ, on a fresh prefix. The queue is paused while the
 * producer (this process) sends all n (celeriac: a `consume: false` app's `delay`s, made at once;
 * raw: `addBulk` in batches of 1,000), then resumed; it ends when BullMQ's completed set holds n
 * (for celeriac each result is stored before its job completes). tasks/s over sending +
 * processing (the pause between them left out); extras: each phase alone, and CPU per task of
 * the workers, of this producer and of Redis (the whole server, so other users of it count too)
 * and Redis commands per task (the whole server too) while processing.
 */
async function transportThroughput(kind: 'celeriac' | 'raw', workers: number, n: number): Promise<Measurement> {
  const { randomUUID } = await import('node:crypto')
  const { Queue } = await import('bullmq')
  const { Redis } = await import('ioredis')
  const connection = { host: '127.0.0.1', port: 6379 }
  const prefix = `celeriac-bench-transport-${randomUUID()}`
  const queueName = 'default'
  const redis = new Redis(connection)
  const admin = new Queue(queueName, { connection, prefix })
  const launched: BenchWorker[] = []
  let producer: Celeriac | undefined
  try {
    await admin.pause()
    for (let i = 0; i < workers; i++) launched.push(await launchWorker(kind, prefix, queueName))
    let send: () => Promise<void>
    if (kind === 'celeriac') {
      const { bullmqTransport } = (await import(built('bullmq.js'))) as typeof import('../src/bullmq/index.js')
      const app = new Celeriac({ name: 'bench-producer', consume: false, transport: bullmqTransport({ connection, prefix }) })
      producer = app
      const add = app.task('bench.add', (a: number, b: number) => a + b)
      await app.start()
      send = async () => {
        const sends = new Array<Promise<unknown>>(n)
        for (let i = 0; i < n; i++) sends[i] = add.delay(i, i)
        await Promise.all(sends)
      }
    } else {
      send = async () => {
        for (let i = 0; i < n; i += 1_000) {
          const jobs = []
          for (let j = i; j < Math.min(n, i + 1_000); j++) jobs.push({ name: 'bench.add', data: { a: j, b: j } })
          await admin.addBulk(jobs)
        }
      }
    }
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    await send()
    const sent = performance.now()
    const cpu1 = process.cpuUsage()
    const counts = await admin.getJobCounts('wait', 'prioritized')
    if (counts.wait! + counts.prioritized! !== n) throw new Error(`after the sends the queue holds ${JSON.stringify(counts)}, not ${n}`)
    const workersBefore = await Promise.all(launched.map((w) => w.cpu()))
    const redisBefore = await redisCounters(redis)
    const completed = `${prefix}:${queueName}:completed`
    const cpu2 = process.cpuUsage()
    const resumed = performance.now()
    await admin.resume()
    while ((await redis.zcard(completed)) < n) await new Promise((resolve) => setTimeout(resolve, 5))
    const end = performance.now()
    const cpu3 = process.cpuUsage()
    const redisAfter = await redisCounters(redis)
    const workersAfter = await Promise.all(launched.map((w) => w.cpu()))
    if (kind === 'celeriac') {
      const results = await redis.zcard(`${prefix}::index:results`)
      if (results !== n) throw new Error(`${results} results stored, not ${n}`)
    }
    const us = (c: NodeJS.CpuUsage): number => c.user + c.system
    const workerCpu = workersAfter.reduce((a, b) => a + b, 0) - workersBefore.reduce((a, b) => a + b, 0)
    const seconds = (sent - start + (end - resumed)) / 1000
    return {
      value: n / seconds,
      extra: {
        sendsPerSec: n / ((sent - start) / 1000),
        processedPerSec: n / ((end - resumed) / 1000),
        workerCpuUsPerTask: workerCpu / n,
        producerSendCpuUsPerTask: (us(cpu1) - us(cpu0)) / n,
        producerProcessCpuUsPerTask: (us(cpu3) - us(cpu2)) / n,
        redisCpuUsPerTask: (redisAfter.cpu - redisBefore.cpu) / n,
        redisCallsPerTask: (redisAfter.calls - redisBefore.calls) / n,
      },
    }
  } finally {
    await Promise.allSettled(launched.map((w) => w.stop()))
    await producer?.stop()
    await admin.close()
    // Only this round's keys: its prefix is unique (never FLUSHALL on the shared Redis).
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
    await redis.quit()
  }
}

// ---- next to Python Celery: celeryTransport vs a Celery prefork worker -----------------------------

/**
 * The Redis of the `celery-*` cases: broker and result backend, as Celery's URL. Db 9 unless
 * CELERIAC_BENCH_CELERY_URL says otherwise; every round uses a queue and prefix of its own there.
 */
const CELERY_BENCH_URL = process.env.CELERIAC_BENCH_CELERY_URL ?? 'redis://127.0.0.1:6379/9'
/** Processes of the Celery prefork worker (`-c`). */
const CELERY_PROCESSES = 2

async function celeryUnavailable(): Promise<string | undefined> {
  const why = await redisUnavailable()
  if (why !== undefined) return why
  const { findPython } = await import('../test/celery/python-worker.js')
  return findPython() === undefined ? 'no Python with Celery and redis-py (apt-get install -y python3-celery python3-redis, or set CELERIAC_PYTHON)' : undefined
}

/** CPU (µs, user + system) of a process and its descendants so far, from /proc (Linux). */
async function processTreeCpu(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs')
  const ticks = 100 // USER_HZ: 100 on every Linux architecture Node runs on
  const read = (p: number): number => {
    let stat: string
    try {
      stat = readFileSync(`/proc/${String(p)}/stat`, 'utf8')
    } catch {
      return 0 // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    let children: number[] = []
    try {
      children = readFileSync(`/proc/${String(p)}/task/${String(p)}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
    } catch {
      // no children file: no children counted
    }
    return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e6 + children.reduce((sum, c) => sum + read(c), 0)
  }
  return read(pid)
}

/** Debian's python3-celery worker on `queue`: `--pool=prefork -c 2`, started and stopped by its pid. */
async function launchCeleryWorker(python: string, queue: string, env: NodeJS.ProcessEnv): Promise<BenchWorker> {
  const { spawn } = await import('node:child_process')
  const { childLines } = await import('../test/child-lines.js')
  const child = spawn(
    python,
    [
      '-m',
      'celery',
      '-A',
      'celery_bench',
      'worker',
      '--pool=prefork',
      '-c',
      String(CELERY_PROCESSES),
      '-Q',
      queue,
      '-n',
      `${queue}@%h`,
      '--without-heartbeat',
      '--without-gossip',
      '--without-mingle',
    ],
    { cwd: here('./fixtures/').pathname, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // Not -l INFO (a log line per task would weigh on Celery's side): celery_bench.py prints
  // `worker ready` on Celery's worker_ready signal.
  const lines = childLines(child)
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  await lines.waitFor((l) => l === 'worker ready', 'worker ready').finally(() => clearTimeout(timer))
  const exited = lines.exit
  const pid = child.pid ?? -1
  return {
    cpu: () => processTreeCpu(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * n trivial adds sent by a Python producer (bench/fixtures/celery-producer.py: `send_task` in a
 * tight loop, then `AsyncResult.get()` of each) to a queue of the round's own, served by a
 * celeriac worker process (celeryTransport, concurrency 16, the built package) or by a Celery
 * prefork worker (2 processes); the producer warms up with 200 first. tasks/s = n / (first send
 * to last result read). Before that, the same worker drains n messages sent while it was not
 * yet running (`drainedPerSec`: first result stored to last, heard on Celery's result channels):
 * the worker's own rate, which the end-to-end figure hides once the producer is the slower side.
 * Other extras: the producer's send rate, the worker's CPU per task end to end (Celery: its main
 * process and its pool), the producer's, and Redis's CPU and commands per task (the whole server).
 */
async function celeryThroughput(kind: 'celeriac' | 'celery', n: number): Promise<Measurement> {
  const { randomUUID } = await import('node:crypto')
  const { spawn } = await import('node:child_process')
  const { Redis } = await import('ioredis')
  const { childLines } = await import('../test/child-lines.js')
  const { findPython } = await import('../test/celery/python-worker.js')
  const python = findPython()!
  const run = randomUUID().slice(0, 8)
  const queue = `celeriac-bench-celery-${run}`
  const prefix = `celeriac-bench-celery-${run}`
  const env = { ...process.env, CELERY_URL: CELERY_BENCH_URL, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }
  const producer = (...args: string[]) =>
    spawn(python, [here('./fixtures/celery-producer.py').pathname, ...args], { cwd: here('./fixtures/').pathname, env, stdio: ['pipe', 'pipe', 'pipe'] })
  const redis = new Redis(CELERY_BENCH_URL)
  const results = new Redis(CELERY_BENCH_URL)
  let worker: BenchWorker | undefined
  try {
    // Drain: the queue filled first, then the worker started; timed from its first result stored
    // to its last (Redis channels are server-wide: the ids' prefix keeps out other users' results).
    const drained = new Promise<{ first: number; last: number }>((resolve) => {
      let first = 0
      let count = 0
      results.on('pmessage', (_pattern, _channel, text: string) => {
        if ((JSON.parse(text) as { status?: string }).status !== 'SUCCESS') return
        if (count++ === 0) first = performance.now()
        if (count === n) resolve({ first, last: performance.now() })
      })
    })
    await results.psubscribe(`celery-task-meta-${run}-*`)
    const fill = childLines(producer('fill', queue, String(n), run))
    if ((await fill.exit) !== 0) throw new Error(`the producer could not fill the queue: ${fill.lines.join('\n')}`)
    worker = kind === 'celeriac' ? await launchWorker('celery', prefix, queue, env) : await launchCeleryWorker(python, queue, env)
    const drain = await drained
    await results.punsubscribe()
    for (let cursor = '0'; ; ) {
      const [next, found] = await redis.scan(cursor, 'MATCH', `celery-task-meta-${run}-*`, 'COUNT', 1_000)
      if (found.length > 0) await redis.unlink(...found)
      cursor = next
      if (cursor === '0') break
    }

    // End to end: the worker running, the producer sends n and reads every result.
    const call = producer('call', queue, String(n))
    const lines = childLines(call)
    await lines.waitFor((l) => l === 'warm', 'warm')
    const workerBefore = await worker.cpu()
    const redisBefore = await redisCounters(redis)
    call.stdin.write('go\n')
    await lines.waitFor((l) => l.startsWith('{'), 'its measurement')
    const redisAfter = await redisCounters(redis)
    const workerAfter = await worker.cpu()
    if ((await lines.exit) !== 0) throw new Error(`the producer exited with an error: ${lines.lines.join('\n')}`)
    const m = JSON.parse(lines.lines.find((l) => l.startsWith('{'))!) as { sendSeconds: number; totalSeconds: number; cpuSeconds: number }
    return {
      value: n / m.totalSeconds,
      extra: {
        drainedPerSec: (n - 1) / ((drain.last - drain.first) / 1000),
        sendsPerSec: n / m.sendSeconds,
        workerCpuUsPerTask: (workerAfter - workerBefore) / n,
        producerCpuUsPerTask: (m.cpuSeconds * 1e6) / n,
        redisCpuUsPerTask: (redisAfter.cpu - redisBefore.cpu) / n,
        redisCallsPerTask: (redisAfter.calls - redisBefore.calls) / n,
      },
    }
  } finally {
    await worker?.stop()
    results.disconnect()
    // Only this round's keys (its queue's lists and binding, celeriac's prefix, the drained
    // results); the producer deleted its own results. Never FLUSHDB on the shared Redis.
    const keys = [queue, ...[3, 6, 9].map((s) => `${queue}\x06\x16${String(s)}`), `_kombu.binding.${queue}`]
    for (const pattern of [`${prefix}:*`, `celery-task-meta-${run}-*`]) {
      for (let cursor = '0'; ; ) {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000)
        keys.push(...found)
        cursor = next
        if (cursor === '0') break
      }
    }
    await redis.unlink(...keys)
    await redis.quit()
  }
}

// ---- compaction of a big state --------------------------------------------------------------------

/**
 * `mib` MiB of live JSON in file storage, then the compaction its journal triggers (compactBytes
 * is the size, so it starts as the state reaches it): the longest stall of the event loop while
 * it runs (the largest gap between ticks of a 1 ms interval) and how long it takes, while calls go
 * on one at a time (and `stallCpuMs`, the most CPU the process used within one gap, which a
 * loaded machine does not inflate); then how long reopening (reading that snapshot) takes. Records of ~1 KiB
 * share one payload string, so the heap stays far below the JSON's size: what is measured is
 * serializing and writing, not building the state.
 */
async function celeriacCompactionStall(mib: number): Promise<Measurement> {
  return inTempDir(async (dir) => {
    const storage = fileStorage({ dir, compactBytes: mib * 1024 * 1024 })
    const compaction = (): Promise<void> | undefined => (storage as unknown as { compaction: Promise<void> | undefined }).compaction
    await storage.open()
    const payload = 'x'.repeat(1_000)
    let last = performance.now()
    let longest = 0
    // On a loaded machine a gap also holds time the OS gave other processes: the CPU this process
    // used within a gap (all its threads: an upper bound of the loop's own work) tells them apart.
    let lastCpu = process.cpuUsage()
    let longestCpu = 0
    const timer = setInterval(() => {
      const now = performance.now()
      const cpu = process.cpuUsage(lastCpu)
      longest = Math.max(longest, now - last)
      longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1_000)
      last = now
      lastCpu = process.cpuUsage()
    }, 1)
    let records = 0
    let start = 0
    // Measured from the flush that starts the compaction (its first, synchronous step runs when
    // that flush is done): each batch starts afresh once its calls are made, until then.
    while (compaction() === undefined) {
      const batch = new Array<Promise<void>>(4_096)
      for (let j = 0; j < batch.length; j++, records++) {
        batch[j] = storage.write([{ op: 'put', ns: 'results', key: `r${records}`, value: { id: records, state: 'SUCCESS', result: payload } }])
      }
      start = last = performance.now()
      lastCpu = process.cpuUsage()
      longest = longestCpu = 0
      await Promise.all(batch)
    }
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    let calls = 0
    let compacting = true
    const traffic = (async () => {
      while (compacting) {
        await storage.write([{ op: 'put', ns: 'results', key: `live${calls % 100}`, value: { calls } }])
        calls++
      }
    })()
    await compaction()
    const ms = performance.now() - start
    // One more tick, so that a stall in the compaction's last step is counted too.
    await new Promise((resolve) => setTimeout(resolve, 2))
    compacting = false
    clearInterval(timer)
    delay.disable()
    await traffic
    const snapshotMiB = statSync(join(dir, 'snapshot')).size / 1024 / 1024
    await storage.close()
    // And back: the snapshot is read frame by frame (it is bigger than any string can be).
    const reopenStart = performance.now()
    const reopened = fileStorage({ dir })
    await reopened.open()
    const reopenMs = performance.now() - reopenStart
    const count = (await reopened.get('results', `r${records - 1}`)) === undefined ? 0 : (await reopened.entries('results')).length
    await reopened.close()
    if (count < records) throw new Error(`reopened ${count} of ${records} records`)
    return {
      value: longest,
      extra: { stallCpuMs: longestCpu, compactionMs: ms, p99DelayMs: delay.percentile(99) / 1e6, callsDuring: calls, records, snapshotMiB, reopenMs },
    }
  })
}

// ---- IndexedDB in Chromium -----------------------------------------------------------------------

/**
 * celeriac's durable sends against one raw transaction of the same number of records, measured
 * in one Chromium page, alternating (bench/fixtures/idb-page.ts): the ratio, and both rates.
 */
async function celeriacIndexedDBEnqueue(n: number): Promise<Measurement> {
  const { bundle, serve, CHROMIUM, CHROMIUM_ARGS } = await import('../test/browser/harness.js')
  const { chromium } = await import('playwright-core')
  const out = tempDir()
  const page = join(out, 'index.html')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(page, '<!doctype html><html><body><script type="module" src="./idb-page.js"></script></body></html>')
  await bundle([new URL('./fixtures/idb-page.ts', import.meta.url).pathname], out)
  const server = await serve([out])
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const tab = await browser.newPage()
    await tab.goto(`${server.url}index.html`)
    await tab.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
    const { celeriac, floor } = await tab.evaluate(
      ([size, pairs]) =>
        (globalThis as unknown as { idbBench: { sideBySide(n: number, pairs: number): Promise<{ celeriac: number; floor: number }> } }).idbBench.sideBySide(
          size,
          pairs,
        ),
      [n, 4] as const,
    )
    return { value: celeriac / floor, extra: { celeriacSendsPerSec: celeriac, floorSendsPerSec: floor } }
  } finally {
    await browser.close()
    await server.close()
    rmSync(out, { recursive: true, force: true })
  }
}

async function chromiumUnavailable(): Promise<string | undefined> {
  const { chromiumMissing } = await import('../test/browser/harness.js')
  return chromiumMissing()
}

export const cases: readonly BenchCase[] = [
  {
    name: 'inline-throughput',
    title: 'inline + memory: trivial tasks sent all at once, until idle',
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { celeriac: celeriacInline, 'p-queue (concurrency 16)': pQueue },
    target: { peer: 'p-queue (concurrency 16)', advantage: 1, text: '>= 1.0x p-queue' },
  },
  {
    name: 'latency',
    title: 'one task at a time: delay then get, round trip',
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { celeriac: celeriacLatency, 'BullMQ (Redis)': bullmqLatency },
    unavailable: redisUnavailable,
  },
  {
    name: 'chord',
    title: 'a chord of 10k adds into a sum (memory, inline)',
    unit: 'ms',
    better: 'lower',
    size: { full: 10_000, quick: 1_000 },
    impls: { celeriac: celeriacChord },
    nodeFlags: ['--expose-gc'],
  },
  {
    name: 'chain',
    title: 'a chain of 1k adds (memory, inline)',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_000, quick: 200 },
    impls: { celeriac: celeriacChain },
  },
  {
    name: 'virtual-month',
    title: 'virtual clock: 10k tasks over 30 days, a quarter retrying with backoff, runAll',
    unit: 'ms',
    better: 'lower',
    size: { full: 10_000, quick: 2_000 },
    impls: { celeriac: celeriacVirtualMonth },
    goal: { at: 'most', value: 1_000, text: '<= 1 s' },
  },
  {
    name: 'schedule-month',
    title: 'virtual clock: n days of an every-minute schedule (1,440 slots a day; 30 days = 43,200), advance',
    unit: 'ms',
    better: 'lower',
    size: { full: 30, quick: 7 },
    impls: { celeriac: celeriacScheduleMonth },
    goal: { at: 'most', value: 500, text: '<= 0.5 s ("well under a second", issue 18)' },
  },
  {
    name: 'scale',
    title: 'pending delayed tasks in memory: enqueue time of n / n÷10 (1M / 100k)',
    unit: 'x',
    better: 'lower',
    size: { full: 1_000_000, quick: 200_000 },
    impls: { celeriac: celeriacScale },
    goal: { at: 'most', value: 12, text: '1M/100k <= 12x' },
    nodeFlags: ['--expose-gc', '--max-old-space-size=8192'],
    rounds: 3,
  },
  {
    name: 'pending-memory',
    title: 'memory per pending task (countdown 1 h, memory storage)',
    unit: 'bytes/task',
    better: 'lower',
    size: { full: 100_000, quick: 10_000 },
    impls: { celeriac: celeriacPendingMemory },
    goal: { at: 'most', value: 400, text: '<= 400 bytes per pending task' },
    nodeFlags: ['--expose-gc'],
    rounds: 3,
  },
  {
    name: 'threads-throughput',
    title: `worker threads (${SIZE}): trivial tasks sent all at once`,
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: { celeriac: celeriacThreadsThroughput, piscina: piscinaThroughput },
    target: { peer: 'piscina', advantage: 2, text: '>= 2x piscina' },
  },
  {
    name: 'threads-latency',
    title: `worker threads (${SIZE}): one task at a time, round trip p50`,
    unit: 'ms',
    better: 'lower',
    size: { full: 5_000, quick: 500 },
    impls: { celeriac: celeriacThreadsLatency, piscina: piscinaLatency, 'raw postMessage': rawRoundTrip },
    target: { peer: 'raw postMessage', advantage: 1 / 1.1, text: 'p50 <= 1.1x the raw round trip' },
  },
  {
    name: 'file-end-to-end',
    title: 'durable end to end: file storage (fsync) vs BullMQ on local Redis, concurrency 16',
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 20_000, quick: 2_000 },
    impls: { celeriac: celeriacFileEndToEnd, 'BullMQ (Redis)': bullmqEndToEnd },
    target: { peer: 'BullMQ (Redis)', advantage: 3, text: '>= 3x BullMQ' },
    unavailable: redisUnavailable,
  },
  {
    name: 'progress-heavy',
    title: 'file storage (fsync), inline, concurrency 16: tasks reporting 100 progress steps each',
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 2_000, quick: 200 },
    impls: { celeriac: celeriacProgressHeavy },
  },
  {
    name: 'file-enqueue',
    title: 'durable enqueue on file storage (fsync), sends made at once',
    unit: 'sends/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: { celeriac: celeriacFileEnqueue, 'raw write + fdatasync floor': rawFsyncFloor },
  },
  {
    name: 'indexeddb-enqueue',
    title: 'durable enqueue on IndexedDB in Chromium, sends made at once, vs one raw transaction of as many records in the same page',
    unit: 'x the floor',
    better: 'higher',
    size: { full: 10_000, quick: 2_000 },
    impls: { celeriac: celeriacIndexedDBEnqueue },
    goal: { at: 'least', value: 0.8, text: '>= 0.8x the raw one-transaction floor' },
    unavailable: chromiumUnavailable,
  },
  {
    name: 'file-recovery',
    title: 'file storage: open (recover) a journal of queued messages',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_000_000, quick: 100_000 },
    impls: { celeriac: celeriacFileRecovery },
    goal: { at: 'most', value: 5_000, text: '<= 5 s for 1M records' },
    rounds: 3,
  },
  {
    name: 'file-compaction',
    title: 'file storage: compacting n MiB of live JSON while calls go on, longest event-loop stall',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_024, quick: 64 },
    impls: { celeriac: celeriacCompactionStall },
    goal: { at: 'most', value: 50, text: '<= 50 ms' },
    nodeFlags: ['--max-old-space-size=4096'],
    rounds: 3,
  },
  {
    name: 'bullmq-throughput-memory',
    title: 'BullMQ backend on memory storage vs BullMQ on local Redis: addBulk n jobs, then one Worker (concurrency 16) until all completed',
    unit: 'jobs/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { 'celeriac/bullmq (memory)': (n) => bullThroughput(bullOnMemory, n), 'BullMQ (Redis)': (n) => bullThroughput(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 3, text: '>= 3x BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-throughput-file',
    title: 'BullMQ backend on file storage (fsync) vs BullMQ on local Redis: addBulk n jobs, then one Worker (concurrency 16) until all completed',
    unit: 'jobs/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { 'celeriac/bullmq (file)': (n) => bullThroughput(bullOnFile, n), 'BullMQ (Redis)': (n) => bullThroughput(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 1, text: '>= 1x BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-latency-memory',
    title: "BullMQ backend on memory storage vs BullMQ on local Redis: one job at a time, add to the Worker's completed event, p50",
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { 'celeriac/bullmq (memory)': (n) => bullLatency(bullOnMemory, n), 'BullMQ (Redis)': (n) => bullLatency(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 5, text: 'p50 >= 5x lower than BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-latency-file',
    title: "BullMQ backend on file storage (fsync) vs BullMQ on local Redis: one job at a time, add to the Worker's completed event, p50",
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { 'celeriac/bullmq (file)': (n) => bullLatency(bullOnFile, n), 'BullMQ (Redis)': (n) => bullLatency(bullOnRedis, n) },
    unavailable: redisUnavailable,
  },
  ...[1, 2].map(
    (workers): BenchCase => ({
      name: `transport-${String(workers)}-worker${workers === 1 ? '' : 's'}`,
      title: `bullmqTransport vs raw BullMQ on local Redis, ${String(workers)} worker process${workers === 1 ? '' : 'es'} (concurrency ${String(TRANSPORT_CONCURRENCY)} each): n trivial tasks sent, then processed`,
      unit: 'tasks/s',
      better: 'higher',
      size: { full: 20_000, quick: 2_000 },
      impls: {
        'celeriac (bullmqTransport)': (n) => transportThroughput('celeriac', workers, n),
        'BullMQ (Redis)': (n) => transportThroughput('raw', workers, n),
      },
      target: { peer: 'BullMQ (Redis)', advantage: 0.8, text: '>= 0.8x raw BullMQ' },
      unavailable: redisUnavailable,
    }),
  ),
  {
    name: 'celery-python-callers',
    title: `serving Python callers: a celeriac worker (celeryTransport, concurrency ${String(TRANSPORT_CONCURRENCY)}) vs a Celery prefork worker (-c ${String(CELERY_PROCESSES)}), n trivial tasks sent with send_task, until every result is read`,
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 10_000, quick: 1_000 },
    impls: {
      'celeriac (celeryTransport)': (n) => celeryThroughput('celeriac', n),
      [`Celery 5 prefork (-c ${String(CELERY_PROCESSES)})`]: (n) => celeryThroughput('celery', n),
    },
    target: { peer: `Celery 5 prefork (-c ${String(CELERY_PROCESSES)})`, advantage: 1, text: ">= 1x Celery's prefork worker" },
    unavailable: celeryUnavailable,
  },
]

/** For the record: the machine the numbers came from. */
export function machine(): Record<string, string | number> {
  return { node: process.version, cpus: availableParallelism(), platform: `${process.platform}-${process.arch}` }
}
