/** Worker threads: celeriac's threads executor, piscina and a raw postMessage round trip. */
import { Worker } from 'node:worker_threads'
import type { Measurement } from './shared.js'
import { Celeriac, WARM_UP, elapsed, here, latencies, sendsPerSecond, threads, warmCeleriac } from './shared.js'

export const SIZE = 2

/**
 * For many short tasks, Celery's optimizing guide advises a large prefetch multiplier ("say 64, or
 * 128") in place of the default 4, which suits long tasks and fairness between workers.
 */
export const SHORT_TASKS_PREFETCH = 64

/** celeriac's threads executor, `prefetch` runs held per worker (its default: 4). */
export async function celeriacThreadsThroughput(n: number, prefetch?: number): Promise<Measurement> {
  return sendsPerSecond({ executor: threads({ module: here('../fixtures/celeriac-worker.mjs'), size: SIZE, prefetch }) }, n, true, true)
}

/**
 * A piscina pool of SIZE threads, warmed up. `tasksPerWorker` is piscina's
 * `concurrentTasksPerWorker` (default 1); 4 is like for like with celeriac, whose threads executor
 * keeps up to 4 tasks in flight per worker (its prefetch) and batches their messages.
 */
async function piscinaPool(tasksPerWorker = 1) {
  const { Piscina } = await import('piscina')
  const pool = new Piscina({
    filename: here('../fixtures/piscina-worker.mjs').href,
    minThreads: SIZE,
    maxThreads: SIZE,
    concurrentTasksPerWorker: tasksPerWorker,
  })
  const warm = []
  for (let i = 0; i < WARM_UP; i++) warm.push(pool.run({ a: i, b: i }))
  await Promise.all(warm)
  return pool
}

/**
 * n `run`s at once through a warmed pool, timed until all are done; `bursts` unmeasured bursts of
 * n go first (see {@link celeriacThreadsThroughputWarm}).
 */
export async function piscinaThroughput(n: number, tasksPerWorker = 1, bursts = 0): Promise<Measurement> {
  const pool = await piscinaPool(tasksPerWorker)
  const burst = async (): Promise<number> => {
    const start = performance.now()
    const runs = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) runs[i] = pool.run({ a: i, b: i })
    await Promise.all(runs)
    return elapsed(start)
  }
  for (let i = 0; i < bursts; i++) await burst()
  const seconds = await burst()
  await pool.destroy()
  return { value: n / seconds }
}

/**
 * {@link celeriacThreadsThroughput} measured on a burst that follows one unmeasured burst of the
 * same n: a long-running app's speed, its code optimized and its heap grown for the work. The
 * first burst after start pays for both (NOTES.md, "Issue 20, the twentieth session").
 */
export async function celeriacThreadsThroughputWarm(n: number): Promise<Measurement> {
  const app = new Celeriac({ executor: threads({ module: here('../fixtures/celeriac-worker.mjs'), size: SIZE }) })
  const add = app.task('bench.add', (a: number, b: number) => a + b)
  await app.start()
  await warmCeleriac(app)
  const burst = async (): Promise<number> => {
    const start = performance.now()
    const sends = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) sends[i] = add.delay(i, i)
    await Promise.all(sends)
    await app.whenIdle()
    return elapsed(start)
  }
  await burst()
  const seconds = await burst()
  await app.stop()
  return { value: n / seconds }
}

/** One task at a time through `threads({ size: SIZE })`; `idleWait: 'atomics'` rests idle workers in `Atomics.wait`. */
export async function celeriacThreadsLatency(n: number, idleWait?: 'atomics'): Promise<Measurement> {
  const app = new Celeriac({
    executor: threads({ module: here('../fixtures/celeriac-worker.mjs'), size: SIZE, ...(idleWait === undefined ? {} : { idleWait }) }),
  })
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

export async function piscinaLatency(n: number): Promise<Measurement> {
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

export async function rawRoundTrip(n: number): Promise<Measurement> {
  const worker = new Worker(here('../fixtures/echo-worker.mjs'))
  const ask = (i: number): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once('message', resolve)
      worker.postMessage({ a: i, b: i })
    })
  for (let i = 0; i < WARM_UP; i++) await ask(i)
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await ask(i)
    samples.push(performance.now() - start)
  }
  await worker.terminate()
  return latencies(samples)
}
