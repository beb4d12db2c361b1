/**
 * kill -9 on Celery's wire, either side: a worker process dies holding a message (taken, in
 * kombu's `unacked`), and a worker started afterwards, celeriac or Python Celery 5.2, restores it
 * once it is older than the visibility timeout and runs it. Real processes, started and killed by
 * pid: a celeriac worker (fixtures/node-worker.ts, bundled once with esbuild), Python workers
 * (python-worker.ts) and callers (fixtures/caller.py). The task is `tasks.record` (or
 * `tasks.record_late`), defined with the same name in both languages, each pushing to a Redis
 * list who ran it, so the test counts runs across processes. Real time: visibility timeouts of
 * 1 s (only the worker started after a kill restores, and a celeriac app re-scores what it holds
 * every third of it, so no live holder's message is taken back). The cases run side by side, each
 * on a Redis db of its own while it runs (a restore puts back every stale `unacked` entry of its
 * db, another case's too): dbs 1-5 and 10, which no other test file uses; a queue and key prefix
 * per case, keys deleted after.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, type TestContext, vi } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, type Task } from '../../src/index.js'
import { type ChildLines, childLines } from '../child-lines.js'
import { celeryInterop, type PythonCaller, type PythonWorker, pythonResult, startPythonCaller, startPythonWorker } from './python-worker.js'

/**
 * The dbs a case leases for its run, one case a db at a time (more cases than dbs wait for one;
 * vitest runs at most 5 at once by default).
 */
const DBS = [10, 1, 2, 3, 4, 5]
/** The visibility timeout of every worker started after a kill (ms). */
const VISIBILITY = 1_000
const { python, skipWhy } = await celeryInterop()

const free = [...DBS]
const leasing: Array<(db: number) => void> = []
function lease(): Promise<number> {
  const db = free.shift()
  return db === undefined ? new Promise((resolve) => leasing.push(resolve)) : Promise.resolve(db)
}
function release(db: number): void {
  const next = leasing.shift()
  if (next === undefined) free.push(db)
  else next(db)
}

// Real processes on a shared 2-core machine: a Python worker alone may take seconds to start.
describe.skipIf(skipWhy !== '')(`kill -9 of a worker holding a message, on Celery's wire${skipWhy}`, { timeout: 60_000, concurrent: true }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-celery-kill-'))
  const bundle = join(dir, 'node-worker.mjs')

  beforeAll(async () => {
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
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  /**
   * A case's own db (leased until it has finished and cleaned up), queue, key prefix and run
   * list, and the processes and apps it starts there, stopped and deleted when it finishes.
   */
  async function setup(context: TestContext) {
    const db = await lease()
    const url = `redis://127.0.0.1:6379/${String(db)}`
    const redis = new Redis({ host: '127.0.0.1', port: 6379, db })
    const apps: Celeriac[] = []
    const children: ChildProcess[] = []
    const pythons: PythonWorker[] = []
    const queue = `celeriac-kill-${randomUUID().slice(0, 8)}`
    const prefix = queue
    const list = `${queue}:runs`
    const keys = new Set([queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`, list])
    context.onTestFinished(async () => {
      try {
        await Promise.all(apps.map((app) => app.stop()))
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await Promise.all(pythons.map((worker) => worker.stop()))
        for (const key of await redis.keys(`${prefix}::*`)) keys.add(key)
        // Declared by the Python workers.
        keys.add('_kombu.binding.celery.pidbox')
        await redis.del(...keys)
        for (const [tag, entry] of Object.entries(await redis.hgetall('unacked'))) {
          if (entry.includes(`"${queue}"`)) await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
        }
      } finally {
        redis.disconnect()
        release(db)
      }
    })

    return {
      url,
      redis,
      queue,
      list,
      pythons,

      /** The celeriac worker process, serving the case's queue; resolves once it consumes. */
      async nodeWorker(ack: 'late' | 'early' | 'early-untracked'): Promise<{ child: ChildProcess; lines: ChildLines }> {
        const child = spawn(process.execPath, [bundle, url, prefix, queue, ack], { stdio: ['ignore', 'pipe', 'pipe'] })
        children.push(child)
        const lines = childLines(child)
        await lines.waitFor((line) => line === 'ready', 'ready')
        return { child, lines }
      },

      /**
       * A celeriac app in this process serving the case's queue with a short visibility timeout:
       * its `tasks.record` / `tasks.record_late` push `node:<label>` and return the label.
       */
      nodeApp(acksLate: boolean): { app: Celeriac; runs: Array<{ eta: number | null; at: number }> } {
        const app = new Celeriac({
          transport: celeryTransport({ url, prefix, queues: [queue], visibilityTimeout: VISIBILITY }),
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
      },

      /** What is left in kombu's `unacked` for the case's queue: the task names. */
      async unacked(): Promise<string[]> {
        const entries = (await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))
        return entries.map((entry) => (JSON.parse(entry) as [{ headers: { task: string } }])[0].headers.task)
      },

      /**
       * Waits until every `unacked` entry of the case's queue is older than the visibility
       * timeout, as kombu scores them (seconds taken): a Python worker restores only those, and
       * only at its start.
       */
      async pastVisibility(): Promise<void> {
        const index = await redis.zrangebyscore('unacked_index', '-inf', '+inf', 'WITHSCORES')
        const all = await redis.hgetall('unacked')
        let latest = 0
        for (let i = 0; i < index.length; i += 2) if (all[index[i]!]?.includes(`"${queue}"`) === true) latest = Math.max(latest, Number(index[i + 1]))
        const wait = latest * 1000 + VISIBILITY + 100 - Date.now()
        // Real time is the point: the visibility timeout is on the wall clock.
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      },

      /** Marks the results of `ids` for deletion. */
      forget(ids: readonly string[]): void {
        for (const id of ids) keys.add(`celery-task-meta-${id}`)
      },

      /**
       * A Python caller's `tasks.record(list, label)` taken by a celeriac worker process (acking
       * as `ack`), killed with SIGKILL while the task runs: the caller, waiting, and the task id.
       */
      async killedMidRun(ack: 'late' | 'early' | 'early-untracked', label: string): Promise<{ caller: PythonCaller; id: string }> {
        const dying = await this.nodeWorker(ack)
        const caller = startPythonCaller(python!, url, [{ name: 'tasks.record', args: [list, label], queue }])
        const [id] = await caller.ids
        this.forget([id!])
        await dying.lines.waitFor((line) => line === `running ${label}`, `running ${label}`)
        await kill9(dying.child, dying.lines)
        return { caller, id: id! }
      },
    }
  }

  async function kill9(child: ChildProcess, lines: ChildLines): Promise<void> {
    child.kill('SIGKILL')
    expect(await lines.exit).toBeNull()
  }

  it('acksLate: a celeriac worker killed mid-run; the next celeriac worker restores the message past the visibility timeout and runs it to the end', async (context) => {
    const c = await setup(context)
    const { queue, list } = c
    const { caller, id } = await c.killedMidRun('late', 'a')
    // The dead worker held it: taken, not acked.
    expect(await c.unacked()).toEqual(['tasks.record'])

    const { app } = c.nodeApp(true)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'a' }])
    // Ran to the end once after the kill (at least once overall: the killed run had begun).
    expect(await c.redis.lrange(list, 0, -1)).toEqual(['node-started:a', 'node:a'])
    expect(await app.AsyncResult(id!).get({ timeout: 5_000 })).toBe('a')
    expect(pythonResult(python!, c.url, id!)).toMatchObject({ state: 'SUCCESS', result: "'a'" })
    expect(await c.unacked()).toEqual([])
    expect(await c.redis.llen(queue)).toBe(0)
  })

  it.for([
    ['tracked (STARTED stored)', 'early'],
    ['untracked (trackStarted: false, its lease a PENDING record)', 'early-untracked'],
  ] as const)(
    'early ack, %s: a celeriac worker killed mid-run; the next celeriac worker restores the message and fails it with WorkerLostError instead of running it again (at most once)',
    async ([, ack], context) => {
      const c = await setup(context)
      const { list } = c
      const { caller, id } = await c.killedMidRun(ack, 'b')
      expect(await c.unacked()).toEqual(['tasks.record'])

      const { app } = c.nodeApp(false)
      await app.start()
      expect(await caller.outcomes).toEqual([
        { id, ok: false, type: 'WorkerLostError', module: 'billiard.exceptions', args: [expect.any(String)], builtin: false },
      ])
      expect(await c.redis.lrange(list, 0, -1)).toEqual(['node-started:b'])
      expect(pythonResult(python!, c.url, id!)).toMatchObject({ state: 'FAILURE', module: 'billiard.exceptions' })
      expect(await c.unacked()).toEqual([])
    },
  )

  it('a celeriac worker killed mid-run (acksLate); a Python worker started past the visibility timeout restores the message and runs it', async (context) => {
    const c = await setup(context)
    const { queue, list } = c
    const { caller, id } = await c.killedMidRun('late', 'c')
    expect(await c.unacked()).toEqual(['tasks.record'])

    await c.pastVisibility()
    c.pythons.push(await startPythonWorker(python!, c.url, queue, { CELERY_VISIBILITY_TIMEOUT: String(VISIBILITY / 1000) }))
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'c' }])
    // Python's tasks.record pushes the bare label.
    expect(await c.redis.lrange(list, 0, -1)).toEqual(['node-started:c', 'c'])
    expect(pythonResult(python!, c.url, id!)).toMatchObject({ state: 'SUCCESS', result: "'c'" })
    // A bound, not a timing: another case's spawnSync (pythonResult) may hold this event loop a while.
    await vi.waitFor(async () => expect(await c.unacked()).toEqual([]), { timeout: 10_000 })
  })

  it('a Python worker killed holding a countdown message; a celeriac worker restores it and runs it once, at its eta', async (context) => {
    const c = await setup(context)
    const { queue, list } = c
    const dying = await startPythonWorker(python!, c.url, queue)
    c.pythons.push(dying)
    const caller = startPythonCaller(python!, c.url, [{ name: 'tasks.record', args: [list, 'd'], queue, options: { countdown: 4 } }])
    const [id] = await caller.ids
    c.forget([id!])
    // Celery holds an eta message taken and unacked until it runs.
    await vi.waitFor(() => expect(dying.log()).toContain(`Task tasks.record[${id!}] received`), { timeout: 10_000 })
    await dying.kill()
    expect(await c.unacked()).toEqual(['tasks.record'])

    const { app, runs } = c.nodeApp(false)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'd' }])
    expect(await c.redis.lrange(list, 0, -1)).toEqual(['node:d'])
    // The restored message kept its eta, and waited for it.
    expect(runs).toHaveLength(1)
    expect(runs[0]!.eta).not.toBeNull()
    expect(runs[0]!.at).toBeGreaterThanOrEqual(runs[0]!.eta!)
    expect(await app.AsyncResult(id!).get({ timeout: 5_000 })).toBe('d')
    expect(await c.unacked()).toEqual([])
  })

  it('a Python worker killed mid-run of an acks_late task; a celeriac worker restores the message and runs it to the end', async (context) => {
    const c = await setup(context)
    const { queue, list } = c
    const dying = await startPythonWorker(python!, c.url, queue)
    c.pythons.push(dying)
    const caller = startPythonCaller(python!, c.url, [{ name: 'tasks.record_late', args: [list, 'e'], queue }])
    const [id] = await caller.ids
    c.forget([id!])
    await vi.waitFor(async () => expect(await c.redis.lrange(list, 0, -1)).toEqual(['python-started:e']), { timeout: 10_000 })
    await dying.kill()
    expect(await c.unacked()).toEqual(['tasks.record_late'])

    const { app } = c.nodeApp(true)
    await app.start()
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'e' }])
    expect(await c.redis.lrange(list, 0, -1)).toEqual(['python-started:e', 'node:e'])
    expect(pythonResult(python!, c.url, id!)).toMatchObject({ state: 'SUCCESS', result: "'e'" })
    expect(await c.unacked()).toEqual([])
  })

  it('early ack: a celeriac worker killed mid-run; a Python worker that restores the message runs it again (it does not read celeriac’s lease: at least once across languages)', async (context) => {
    const c = await setup(context)
    const { queue, list } = c
    const { caller, id } = await c.killedMidRun('early', 'g')
    await c.pastVisibility()
    c.pythons.push(await startPythonWorker(python!, c.url, queue, { CELERY_VISIBILITY_TIMEOUT: String(VISIBILITY / 1000) }))
    expect(await caller.outcomes).toEqual([{ id, ok: true, value: 'g' }])
    expect(await c.redis.lrange(list, 0, -1)).toEqual(['node-started:g', 'g'])
    // A bound, not a timing: another case's spawnSync (pythonResult) may hold this event loop a while.
    await vi.waitFor(async () => expect(await c.unacked()).toEqual([]), { timeout: 10_000 })
  })
})
