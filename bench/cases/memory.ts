/** The cases on one app in memory with the inline executor: throughput, latency, canvas, virtual time and memory per pending task. */
import type { Measurement } from './shared.js'
import { Celeriac, WARM_UP, chain, chord, elapsed, inline, latencies, memoryStorage, sendsPerSecond, virtualClock } from './shared.js'

export async function celeriacInline(n: number): Promise<Measurement> {
  return sendsPerSecond({ storage: memoryStorage(), executor: inline(), queues: { default: { concurrency: 16 } } }, n, true)
}

export async function pQueue(n: number): Promise<Measurement> {
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
export async function celeriacVirtualMonth(n: number): Promise<Measurement> {
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
export async function celeriacScheduleMonth(days: number): Promise<Measurement> {
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
export async function celeriacLatency(n: number): Promise<Measurement> {
  const app = new Celeriac()
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  for (let i = 0; i < WARM_UP; i++) await (await add.delay(i, i)).get()
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await (await add.delay(i, i)).get()
    samples.push(performance.now() - start)
  }
  await app.stop()
  return latencies(samples)
}

export async function bullmqLatency(n: number): Promise<Measurement> {
  const { Queue, Worker: BullWorker, QueueEvents } = await import('bullmq')
  const connection = { host: '127.0.0.1', port: 6379 }
  const name = `celeriac-latency-${process.pid}-${Date.now()}`
  const queue = new Queue(name, { connection })
  const events = new QueueEvents(name, { connection })
  await events.waitUntilReady()
  const worker = new BullWorker(name, async (job) => (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b, { connection })
  try {
    await worker.waitUntilReady()
    for (let i = 0; i < WARM_UP; i++) await (await queue.add('add', { a: i, b: i })).waitUntilFinished(events)
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
export async function celeriacChord(n: number): Promise<Measurement> {
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
export async function celeriacChain(n: number): Promise<Measurement> {
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
export async function celeriacScale(n: number): Promise<Measurement> {
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

export async function celeriacPendingMemory(n: number): Promise<Measurement> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  const app = new Celeriac({ clock: virtualClock() })
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  gc()
  const before = process.memoryUsage()
  const handles = []
  for (let i = 0; i < n; i++) handles.push(await add.applyAsync([i, i], { countdown: 3_600_000 }))
  handles.length = 0
  gc()
  const after = process.memoryUsage()
  await app.stop()
  // Heap is what the engine holds; RSS is what the process costs (heap pages, V8's spare, malloc).
  return { value: (after.heapUsed - before.heapUsed) / n, extra: { rssBytesPerTask: (after.rss - before.rss) / n } }
}
