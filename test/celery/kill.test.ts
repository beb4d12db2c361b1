/**
 * kill -9 on Celery's wire, either side: a worker process dies holding a message (taken, in
 * kombu's `unacked`), and a worker started afterwards, celeriac or Python Celery 5.2, restores it
 * once it is older than the visibility timeout and runs it. Real processes, started and killed by
 * pid: a celeriac worker (fixtures/node-worker.ts, bundled once with esbuild), Python workers
 * (python-worker.ts) and callers (fixtures/caller.py). The task is `tasks.record` (or
 * `tasks.record_late`), defined with the same name in both languages, each pushing to a Redis
 * list who ran it, so the test counts runs across processes. Real time: visibility timeouts of
 * 1 s (only the worker started after a kill restores, and a celeriac app re-scores what it holds
 * every third of it, so no live holder's message is taken back). Redis db 10 (a restore puts back every stale `unacked` entry of its db); a queue and key
 * prefix per test, keys deleted after.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, type Task } from '../../src/index.js'
import { type ChildLines, childLines } from '../child-lines.js'
import { celeryInterop, type PythonWorker, pythonResult, startPythonCaller, startPythonWorker } from './python-worker.js'

const DB = 10
const REDIS_URL = `redis://127.0.0.1:6379/${String(DB)}`
/** The visibility timeout of every worker started after a kill (ms). */
const VISIBILITY = 1_000
const { python, skipWhy } = await celeryInterop()

// Real processes on a shared 2-core machine: a Python worker alone may take seconds to start.
describe.skipIf(skipWhy !== '')(`kill -9 of a worker holding a message, on Celery's wire${skipWhy}`, { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-celery-kill-'))
  const bundle = join(dir, 'node-worker.mjs')
  let redis: Redis
  const apps: Celeriac[] = []
  const children: ChildProcess[] = []
  const pythons: PythonWorker[] = []
  const keys = new Set<string>()
  const prefixes: string[] = []
  const queues: string[] = []

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
    // Bundled: a child started with `--import tsx` takes seconds on a loaded machine.
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/node-worker.ts', import.meta.url))],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'warning',
    })
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()))
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await Promise.all(pythons.splice(0).map((worker) => worker.stop()))
    for (const prefix of prefixes.splice(0)) for (const key of await redis.keys(`${prefix}::*`)) keys.add(key)
    if (keys.size > 0) await redis.del(...keys)
    keys.clear()
    for (const [tag, entry] of Object.entries(await redis.hgetall('unacked'))) {
      if (queues.some((queue) => entry.includes(`"${queue}"`))) await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
    }
    queues.length = 0
  })
  afterAll(async () => {
    // Declared by the Python workers (db 10 is this file's own).
    await redis.del('_kombu.binding.celery.pidbox')
    redis.disconnect()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A queue, key prefix and run list of the test's own, marked for deletion. */
  function names(): { queue: string; prefix: string; list: string } {
    const run = randomUUID().slice(0, 8)
    const queue = `celeriac-kill-${run}`
    queues.push(queue)
    prefixes.push(queue)
    const list = `${queue}:runs`
    for (const key of [queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`, list]) keys.add(key)
    return { queue, prefix: queue, list }
  }

  /** The celeriac worker process, serving `queue`; resolves once it consumes. */
  async function nodeWorker(queue: string, prefix: string, ack: 'late' | 'early' | 'early-untracked'): Promise<{ child: ChildProcess; lines: ChildLines }> {
    const child = spawn(process.execPath, [bundle, REDIS_URL, prefix, queue, ack], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    const lines = childLines(child)
    await lines.waitFor((line) => line === 'ready', 'ready')
    return { child, lines }
  }

  async function kill9(child: ChildProcess, lines: ChildLines): Promise<void> {
    child.kill('SIGKILL')
    expect(await lines.exit).toBeNull()
  }

  /**
   * A celeriac app in this process serving `queue` with a short visibility timeout: its
   * `tasks.record` / `tasks.record_late` push `node:<label>` and return the label.
   */
  function nodeApp(queue: string, prefix: string, acksLate: boolean): { app: Celeriac; runs: Array<{ eta: number | null; at: number }> } {
    const app = new Celeriac({
      transport: celeryTransport({ url: REDIS_URL, prefix, queues: [queue], visibilityTimeout: VISIBILITY }),
      queues: { [queue]: {} },
    })
    const runs: Array<{ eta: number | null; at: number }> = []
    const record = async (self: Task, list: string, label: string): Promise<string> => {
      runs.push({ eta: self.request.eta, at: Date.now() })
      await redis.rpush(list, `node:${label}`)
      return label
    }
    app.task('tasks.record', { bind: true, acksLate }, record)
    app.task('tasks.record_late', { bind: true, acksLate }, record)
    apps.push(app)
    return { app, runs }
  }

  /** What is left in kombu's `unacked` for `queue`: the task names. */
  async function unacked(queue: string): Promise<string[]> {
    const entries = (await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))
    return entries.map((entry) => (JSON.parse(entry) as [{ headers: { task: string } }])[0].headers.task)
  }

  /**
   * Waits until every `unacked` entry of `queue` is older than the visibility timeout, as kombu
   * scores them (seconds taken): a Python worker restores only those, and only at its start.
   */
  async function pastVisibility(queue: string): Promise<void> {
    const index = await redis.zrangebyscore('unacked_index', '-inf', '+inf', 'WITHSCORES')
    const all = await redis.hgetall('unacked')
    let latest = 0
    for (let i = 0; i < index.length; i += 2) if (all[index[i]!]?.includes(`"${queue}"`) === true) latest = Math.max(latest, Number(index[i + 1]))
    const wait = latest * 1000 + VISIBILITY + 100 - Date.now()
    // Real time is the point: the visibility timeout is on the wall clock.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }

  async function forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) keys.add(`celery-task-meta-${id}`)
  }

  it('acksLate: a celeriac worker killed mid-run; the next celeriac worker restores the message past the visibility timeout and runs it to the end', async () => {
    const { queue, prefix, list } = names()
    const dying = await nodeWorker(queue, prefix, 'late')
    const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record', args: [list, 'a'], queue }])
    const [id] = await caller.ids
    await forget([id!])
    await dying.lines.waitFor((line) => line === 'running a', 'running a')
    await kill9(dying.child, dying.lines)
    // The dead worker held it: taken, not acked.
    expect(await unacked(queue)).toEqual(['tasks.record'])

    const { app } = nodeApp(queue, prefix, true)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'a' }])
    // Ran to the end once after the kill (at least once overall: the killed run had begun).
    expect(await redis.lrange(list, 0, -1)).toEqual(['node-started:a', 'node:a'])
    expect(await app.AsyncResult(id!).get({ timeout: 5_000 })).toBe('a')
    expect(pythonResult(python!, REDIS_URL, id!)).toMatchObject({ state: 'SUCCESS', result: "'a'" })
    expect(await unacked(queue)).toEqual([])
    expect(await redis.llen(queue)).toBe(0)
  })

  it.each([
    ['tracked (STARTED stored)', 'early'],
    ['untracked (trackStarted: false, its lease a PENDING record)', 'early-untracked'],
  ] as const)(
    'early ack, %s: a celeriac worker killed mid-run; the next celeriac worker restores the message and fails it with WorkerLostError instead of running it again (at most once)',
    async (_, ack) => {
      const { queue, prefix, list } = names()
      const dying = await nodeWorker(queue, prefix, ack)
      const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record', args: [list, 'b'], queue }])
      const [id] = await caller.ids
      await forget([id!])
      await dying.lines.waitFor((line) => line === 'running b', 'running b')
      await kill9(dying.child, dying.lines)
      expect(await unacked(queue)).toEqual(['tasks.record'])

      const { app } = nodeApp(queue, prefix, false)
      await app.start()
      expect(await caller.outcomes).toEqual([
        { id, ok: false, type: 'WorkerLostError', module: 'billiard.exceptions', args: [expect.any(String)], builtin: false },
      ])
      expect(await redis.lrange(list, 0, -1)).toEqual(['node-started:b'])
      expect(pythonResult(python!, REDIS_URL, id!)).toMatchObject({ state: 'FAILURE', module: 'billiard.exceptions' })
      expect(await unacked(queue)).toEqual([])
    },
  )

  it('a celeriac worker killed mid-run (acksLate); a Python worker started past the visibility timeout restores the message and runs it', async () => {
    const { queue, prefix, list } = names()
    const dying = await nodeWorker(queue, prefix, 'late')
    const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record', args: [list, 'c'], queue }])
    const [id] = await caller.ids
    await forget([id!])
    await dying.lines.waitFor((line) => line === 'running c', 'running c')
    await kill9(dying.child, dying.lines)
    expect(await unacked(queue)).toEqual(['tasks.record'])

    await pastVisibility(queue)
    pythons.push(await startPythonWorker(python!, REDIS_URL, queue, { CELERY_VISIBILITY_TIMEOUT: String(VISIBILITY / 1000) }))
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'c' }])
    // Python's tasks.record pushes the bare label.
    expect(await redis.lrange(list, 0, -1)).toEqual(['node-started:c', 'c'])
    expect(pythonResult(python!, REDIS_URL, id!)).toMatchObject({ state: 'SUCCESS', result: "'c'" })
    await vi.waitFor(async () => expect(await unacked(queue)).toEqual([]))
  })

  it('a Python worker killed holding a countdown message; a celeriac worker restores it and runs it once, at its eta', async () => {
    const { queue, prefix, list } = names()
    const dying = await startPythonWorker(python!, REDIS_URL, queue)
    pythons.push(dying)
    const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record', args: [list, 'd'], queue, options: { countdown: 4 } }])
    const [id] = await caller.ids
    await forget([id!])
    // Celery holds an eta message taken and unacked until it runs.
    await vi.waitFor(() => expect(dying.log()).toContain(`Task tasks.record[${id!}] received`), { timeout: 10_000 })
    await dying.kill()
    expect(await unacked(queue)).toEqual(['tasks.record'])

    const { app, runs } = nodeApp(queue, prefix, false)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'd' }])
    expect(await redis.lrange(list, 0, -1)).toEqual(['node:d'])
    // The restored message kept its eta, and waited for it.
    expect(runs).toHaveLength(1)
    expect(runs[0]!.eta).not.toBeNull()
    expect(runs[0]!.at).toBeGreaterThanOrEqual(runs[0]!.eta!)
    expect(await app.AsyncResult(id!).get({ timeout: 5_000 })).toBe('d')
    expect(await unacked(queue)).toEqual([])
  })

  it('a Python worker killed mid-run of an acks_late task; a celeriac worker restores the message and runs it to the end', async () => {
    const { queue, prefix, list } = names()
    const dying = await startPythonWorker(python!, REDIS_URL, queue)
    pythons.push(dying)
    const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record_late', args: [list, 'e'], queue }])
    const [id] = await caller.ids
    await forget([id!])
    await vi.waitFor(async () => expect(await redis.lrange(list, 0, -1)).toEqual(['python-started:e']), { timeout: 10_000 })
    await dying.kill()
    expect(await unacked(queue)).toEqual(['tasks.record_late'])

    const { app } = nodeApp(queue, prefix, true)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'e' }])
    expect(await redis.lrange(list, 0, -1)).toEqual(['python-started:e', 'node:e'])
    expect(pythonResult(python!, REDIS_URL, id!)).toMatchObject({ state: 'SUCCESS', result: "'e'" })
    expect(await unacked(queue)).toEqual([])
  })

  it('early ack: a celeriac worker killed mid-run; a Python worker that restores the message runs it again (it does not read celeriac’s lease: at least once across languages)', async () => {
    const { queue, prefix, list } = names()
    const dying = await nodeWorker(queue, prefix, 'early')
    const caller = startPythonCaller(python!, REDIS_URL, [{ name: 'tasks.record', args: [list, 'g'], queue }])
    const [id] = await caller.ids
    await forget([id!])
    await dying.lines.waitFor((line) => line === 'running g', 'running g')
    await kill9(dying.child, dying.lines)
    await pastVisibility(queue)
    pythons.push(await startPythonWorker(python!, REDIS_URL, queue, { CELERY_VISIBILITY_TIMEOUT: String(VISIBILITY / 1000) }))
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'g' }])
    expect(await redis.lrange(list, 0, -1)).toEqual(['node-started:g', 'g'])
    await vi.waitFor(async () => expect(await unacked(queue)).toEqual([]))
  })
})
