/** Across processes: bullmqTransport vs raw BullMQ. */
import type { Measurement } from './shared.js'
import { Celeriac, built, here } from './shared.js'

/** Concurrency of every worker process, celeriac's queue and raw BullMQ's Worker alike. */
export const TRANSPORT_CONCURRENCY = 16

/** A worker process of bench/fixtures/transport-worker.mjs: its CPU on request, and stop. */
export interface BenchWorker {
  /** This process's CPU (user + system, µs) since it printed `ready`. */
  cpu(): Promise<number>
  stop(): Promise<void>
}

export async function launchWorker(
  kind: 'celeriac' | 'raw' | 'celery',
  prefix: string,
  queue: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BenchWorker> {
  const { spawn } = await import('node:child_process')
  const { childLines } = await import('../../test/child-lines.js')
  // CELERIAC_BENCH_WORKER_FLAGS: Node flags for the worker processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const flags = process.env.CELERIAC_BENCH_WORKER_FLAGS?.split(' ').filter((f) => f !== '') ?? []
  const child = spawn(process.execPath, [...flags, here('../fixtures/transport-worker.mjs').pathname, kind, prefix, queue, String(TRANSPORT_CONCURRENCY)], {
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
export async function redisCounters(redis: import('ioredis').Redis): Promise<{ cpu: number; calls: number }> {
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
export async function transportThroughput(kind: 'celeriac' | 'raw', workers: number, n: number): Promise<Measurement> {
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
      const { bullmqTransport } = (await import(built('bullmq.js'))) as typeof import('../../src/bullmq/index.js')
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
