/** File storage: durable end to end (and BullMQ's side of it), durable enqueue and its floor, recovery, and compaction. */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, fdatasyncSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { delimiter, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Measurement } from './shared.js'
import { Celeriac, elapsed, fileStorage, inTempDir, inline, sendsPerSecond, tempDir } from './shared.js'

export async function celeriacFileEndToEnd(n: number): Promise<Measurement> {
  return inTempDir((dir) => sendsPerSecond({ storage: fileStorage({ dir }), queues: { default: { concurrency: 16 } } }, n, true))
}

/**
 * n tasks on file storage (fsync), concurrency 16, each reporting 100 progress steps with a turn
 * of the event loop between them (a chunk of work reporting every 1%): tasks/s, and the bytes the
 * journal holds once all have run (load-independent, unlike the rate).
 */
export async function celeriacProgressHeavy(n: number): Promise<Measurement> {
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

const LOCAL_REDIS = { host: '127.0.0.1', port: 6379 }

/** Whether `redis-server` is on PATH: the appendfsync-always peer needs its own server. */
export const redisServerFound = (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'redis-server')))

/**
 * BullMQ's durable end to end on a Redis that persists like celeriac's file storage: a second
 * server of the measurement's own (a free port on 127.0.0.1, a temporary directory) with
 * `appendonly yes` and `appendfsync always` (every write in the AOF and fsynced before Redis
 * answers), stopped by its pid afterwards.
 */
export async function bullmqEndToEndFsync(n: number): Promise<Measurement> {
  const port = await freePort()
  const dir = tempDir()
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('Ready to accept connections')) resolve()
      })
      server.once('exit', (code) => reject(new Error(`redis-server (appendfsync always) exited with ${String(code)} before it was ready: ${out.slice(-500)}`)))
    })
    return await bullmqEndToEnd(n, true, { host: '127.0.0.1', port })
  } finally {
    if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

/**
 * BullMQ's side of the durable end-to-end case: n jobs added with `addBulk` (batches of 1,000) to
 * a Worker at concurrency 16 that is ready before the clock starts (celeriac's app is started
 * before it too), timed until the Worker's last 'completed'. `keepResults`: completed jobs and
 * their return values stay in Redis, as celeriac stores every result (like for like); otherwise
 * `removeOnComplete` drops them (what a fire-and-forget BullMQ user would set).
 */
export async function bullmqEndToEnd(n: number, keepResults: boolean, connection = LOCAL_REDIS): Promise<Measurement> {
  const { Queue, Worker: BullWorker } = await import('bullmq')
  const name = `celeriac-bench-${process.pid}-${Date.now()}`
  const queue = new Queue(name, { connection })
  let completed = 0
  let resolveDone!: () => void
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  const worker = new BullWorker(name, async (job) => (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b, {
    connection,
    concurrency: 16,
  })
  worker.on('completed', () => {
    if (++completed === n) resolveDone()
  })
  try {
    await queue.waitUntilReady()
    await worker.waitUntilReady()
    const start = performance.now()
    for (let i = 0; i < n; i += 1_000) {
      const jobs = []
      for (let j = i; j < Math.min(n, i + 1_000); j++) jobs.push({ name: 'add', data: { a: j, b: j }, opts: { removeOnComplete: !keepResults } })
      await queue.addBulk(jobs)
    }
    await done
    return { value: n / elapsed(start) }
  } finally {
    await worker.close()
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
  }
}

export async function celeriacFileEnqueue(n: number): Promise<Measurement> {
  // Not consuming: this measures durable sends alone.
  return inTempDir((dir) => sendsPerSecond({ storage: fileStorage({ dir }), consume: false }, n, false))
}

/**
 * The floor under durable enqueue: the same number of records of a message's size, serialized
 * one by one, then written with one write and one fdatasync, as if every call had come in the
 * same instant. Nothing durable can be cheaper per record.
 */
export async function rawFsyncFloor(n: number): Promise<Measurement> {
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

export async function celeriacFileRecovery(n: number): Promise<Measurement> {
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

/**
 * `mib` MiB of live JSON in file storage, then the compaction its journal triggers (compactBytes
 * is the size, so it starts as the state reaches it): the longest stall of the event loop while
 * it runs (the largest gap between ticks of a 1 ms interval) and how long it takes, while calls go
 * on one at a time (and `stallCpuMs`, the most CPU the process used within one gap, which a
 * loaded machine does not inflate); then how long reopening (reading that snapshot) takes. Records of ~1 KiB
 * share one payload string, so the heap stays far below the JSON's size: what is measured is
 * serializing and writing, not building the state.
 */
export async function celeriacCompactionStall(mib: number): Promise<Measurement> {
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
