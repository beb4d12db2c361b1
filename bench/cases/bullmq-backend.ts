/** The BullMQ backend (celeriac/bullmq): the same BullMQ code on Redis, on memory and on file storage. */
import { rmSync } from 'node:fs'
import type { BackendFactory, ConnectionOptions, IQueueBackend } from 'bullmq'
import type { Measurement } from './shared.js'
import { WARM_UP, bullmqBackend, fileStorage, latencies, memoryStorage, tempDir } from './shared.js'

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
export async function bullOnRedis(): Promise<BullTarget> {
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
export async function bullOnMemory(): Promise<BullTarget> {
  const storage = memoryStorage()
  return { factory: bullmqBackend({ storage }), connection: {}, prefix: 'bull', dispose: () => storage.close() }
}

/** celeriac's backend on a fresh file storage (fsync) in a temporary directory. */
export async function bullOnFile(): Promise<BullTarget> {
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
export async function bullThroughput(open: () => Promise<BullTarget>, n: number): Promise<Measurement> {
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
 * concurrency 1), after WARM_UP to warm up; p50, and p99 as an extra.
 */
export async function bullLatency(open: () => Promise<BullTarget>, n: number): Promise<Measurement> {
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
    for (let i = 0; i < WARM_UP; i++) await one(i)
    const samples: number[] = []
    for (let i = 0; i < n; i++) {
      const start = performance.now()
      await one(WARM_UP + i)
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
