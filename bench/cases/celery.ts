/** Next to Python Celery: celeryTransport vs a Celery prefork worker. */
import type { Measurement } from './shared.js'
import { here, redisUnavailable } from './shared.js'
import type { BenchWorker } from './transport.js'
import { launchWorker, redisCounters } from './transport.js'

/**
 * The Redis of the `celery-*` cases: broker and result backend, as Celery's URL. Db 9 unless
 * CELERIAC_BENCH_CELERY_URL says otherwise; every round uses a queue and prefix of its own there.
 */
const CELERY_BENCH_URL = process.env.CELERIAC_BENCH_CELERY_URL ?? 'redis://127.0.0.1:6379/9'
/** Processes of the Celery prefork worker (`-c`). */
export const CELERY_PROCESSES = 2

export async function celeryUnavailable(): Promise<string | undefined> {
  const why = await redisUnavailable()
  if (why !== undefined) return why
  const { findPython } = await import('../../test/celery/python-worker.js')
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
  const { childLines } = await import('../../test/child-lines.js')
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
    { cwd: here('../fixtures/').pathname, env, stdio: ['ignore', 'pipe', 'pipe'] },
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
export async function celeryThroughput(kind: 'celeriac' | 'celery', n: number): Promise<Measurement> {
  const { randomUUID } = await import('node:crypto')
  const { spawn } = await import('node:child_process')
  const { Redis } = await import('ioredis')
  const { childLines } = await import('../../test/child-lines.js')
  const { findPython } = await import('../../test/celery/python-worker.js')
  const python = findPython()!
  const run = randomUUID().slice(0, 8)
  const queue = `celeriac-bench-celery-${run}`
  const prefix = `celeriac-bench-celery-${run}`
  const env = { ...process.env, CELERY_URL: CELERY_BENCH_URL, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }
  const producer = (...args: string[]) =>
    spawn(python, [here('../fixtures/celery-producer.py').pathname, ...args], { cwd: here('../fixtures/').pathname, env, stdio: ['pipe', 'pipe', 'pipe'] })
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
