/**
 * Revoke from Python: Celery's `app.control.revoke(id)` (a broadcast on kombu's pidbox channel,
 * `/<db>.celery.pidbox`) reaches a celeriac app serving `celeryTransport({ queues })`: a task it
 * holds for its countdown never runs, `terminate=True` stops a running one, and Python's
 * `AsyncResult.get()` raises `celery.exceptions.TaskRevokedError` for both. The Python side is
 * fixtures/revoker.py, a child process by pid. Real time; Redis db 14, a queue and key prefix per
 * test, keys deleted.
 */
import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, type Task } from '../../src/index.js'
import { celeryInterop, dropUnacked } from './python-worker.js'

const DB = 14
const REDIS_URL = `redis://127.0.0.1:6379/${String(DB)}`
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))
const { python, skipWhy } = await celeryInterop()

/** What fixtures/revoker.py is told to do (see its docstring). */
interface RevokerSpec {
  readonly gate: string
  readonly send: ReadonlyArray<{ name: string; args: unknown[]; queue: string; options?: Record<string, unknown> }>
  readonly ping?: boolean
  readonly revokes: ReadonlyArray<{ ids: number[]; terminate?: boolean; destination?: string[] | null; pattern?: string; matcher?: string }>
  readonly after?: ReadonlyArray<{ name: string; args: unknown[]; queue: string }>
}

type Outcome =
  | { readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly id: string; readonly ok: false; readonly type: string; readonly module: string; readonly args: string[] }

interface Revoker {
  /** Kills it (by its pid) if it is still running. */
  stop(): void
  readonly ids: Promise<string[]>
  readonly done: Promise<{ outcomes: Outcome[]; ping: Array<Record<string, unknown>> }>
}

/** Runs fixtures/revoker.py (asynchronously: the app it talks to is in this process); killed by its pid after 20 s. */
function startRevoker(spec: RevokerSpec): Revoker {
  const child = spawn(python!, ['revoker.py', JSON.stringify(spec)], {
    cwd: FIXTURES,
    env: { ...process.env, CELERY_URL: REDIS_URL, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let gotIds: (ids: string[]) => void = () => undefined
  const ids = new Promise<string[]>((resolve) => (gotIds = resolve))
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    const lines = stdout.split('\n')
    if (lines.length > 1) gotIds(JSON.parse(lines[0]!) as string[])
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const done = new Promise<Revoker extends { done: Promise<infer T> } ? T : never>((resolve, reject) => {
    // 'close', not 'exit': a child's last output may still be on its way when it has exited.
    child.once('close', (code) => {
      clearTimeout(timer)
      const lines = stdout.trim().split('\n')
      if (code !== 0 || lines.length < 2) reject(new Error(`The Python revoker exited with ${String(code)}:\n${stdout}\n${stderr}`))
      else resolve(JSON.parse(lines[1]!) as Awaited<Revoker['done']>)
    })
  })
  // A caller that fails before printing its ids fails the test through `done`.
  done.catch(() => gotIds([]))
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  return { stop, ids, done }
}

describe.skipIf(skipWhy !== '')(`Revoke from Python over Celery's mailbox${skipWhy}`, () => {
  let redis: Redis
  const apps: Celeriac[] = []
  const keys = new Set<string>()
  const queues: string[] = []
  const revokers: Revoker[] = []

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
  })
  afterEach(async () => {
    // A failed test may leave its caller waiting: stopped by its pid.
    for (const revoker of revokers.splice(0)) revoker.stop()
    // Bounded: a failed terminate leaves a run that never ends.
    await Promise.all(apps.splice(0).map((app) => app.stop({ timeout: 2_000 })))
    if (keys.size > 0) await redis.del(...keys)
    keys.clear()
    // A failing run may leave its messages taken and not acked: kombu's entries of these queues go too.
    await dropUnacked(redis, queues)
    queues.length = 0
  })
  afterAll(() => redis.disconnect())

  /** A queue, key prefix and gate key of its own, all marked for deletion. */
  function queueOf(): { queue: string; prefix: string; gate: string } {
    const run = randomUUID().slice(0, 8)
    const queue = `celeriac-revoke-${run}`
    queues.push(queue)
    const gate = `celeriac-revoke-${run}-gate`
    for (const key of [queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`, gate]) keys.add(key)
    return { queue, prefix: `celeriac-revoke-${run}`, gate }
  }

  async function forget(prefix: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) keys.add(`celery-task-meta-${id}`)
    for (const key of await redis.keys(`${prefix}::*`)) keys.add(key)
  }

  /** Whether every one of `ids` is taken by the worker (in kombu's `unacked` hash). */
  async function held(ids: readonly string[]): Promise<boolean> {
    const entries = await redis.hvals('unacked')
    return ids.every((id) => entries.some((entry) => entry.includes(`"id": "${id}"`) || entry.includes(`"id":"${id}"`)))
  }

  function revoking(spec: RevokerSpec): Revoker {
    const revoker = startRevoker(spec)
    revokers.push(revoker)
    return revoker
  }

  it('revoke(id) stops a task the worker holds for its countdown: it never runs, Python get() raises TaskRevokedError; destination is honoured', async () => {
    const { queue, prefix, gate } = queueOf()
    const ran: string[] = []
    const app = new Celeriac({ transport: celeryTransport({ url: REDIS_URL, prefix, queues: [queue] }), queues: { [queue]: {} } })
    app.task('node.add', { bind: true }, (self: Task, a: number, b: number) => {
      ran.push(self.request.id)
      return a + b
    })
    apps.push(app)
    await app.start()
    const revoker = revoking({
      gate,
      send: [
        { name: 'node.add', args: [1, 1], queue, options: { countdown: 2 } },
        { name: 'node.add', args: [2, 2], queue, options: { countdown: 2 } },
        { name: 'node.add', args: [3, 3], queue, options: { countdown: 2 } },
        { name: 'node.add', args: [4, 4], queue, options: { countdown: 2 } },
        { name: 'node.add', args: [5, 5], queue, options: { countdown: 2 } },
      ],
      ping: true,
      revokes: [
        { ids: [0] },
        // Another worker's name: this one ignores it, as a Celery worker not named there.
        { ids: [1], destination: ['celery@elsewhere'] },
        { ids: [2], destination: [`celeriac@${hostname()}`] },
        // kombu's node name patterns: a glob that names this worker, a regex that does not.
        { ids: [3], pattern: 'celeriac@*', matcher: 'glob' },
        { ids: [4], pattern: 'celery@.*', matcher: 'pcre' },
      ],
    })
    const ids = await revoker.ids
    try {
      // The worker has taken all three (held for their countdown) before Python revokes.
      await expect.poll(() => held(ids), { timeout: 10_000 }).toBe(true)
      await redis.set(gate, '1')
      const { outcomes, ping } = await revoker.done
      expect(outcomes).toMatchObject([
        { id: ids[0], ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' },
        { id: ids[1], ok: true, value: 4 },
        { id: ids[2], ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' },
        { id: ids[3], ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' },
        { id: ids[4], ok: true, value: 10 },
      ])
      // Only the ones revoked for other workers ran.
      expect(ran.sort()).toEqual([ids[1], ids[4]].sort())
      // Python's ping lists this worker under its node name.
      expect(ping).toContainEqual({ [`celeriac@${hostname()}`]: { ok: 'pong' } })
      // Settled: nothing of this queue is left in kombu's unacked hash.
      expect(await held(ids.slice(0, 1))).toBe(false)
      expect((await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))).toEqual([])
    } finally {
      await forget(prefix, ids)
    }
  }, 30_000)

  it('revoke(id, terminate=True) stops a running task: REVOKED in Python, its signal aborted, and the worker serves the next task', async () => {
    const { queue, prefix, gate } = queueOf()
    let running: (id: string) => void = () => undefined
    const started = new Promise<string>((resolve) => (running = resolve))
    let abortedWith: unknown
    const app = new Celeriac({ transport: celeryTransport({ url: REDIS_URL, prefix, queues: [queue] }), queues: { [queue]: { concurrency: 1 } } })
    app.task('node.hold', { bind: true }, (self: Task) => {
      running(self.request.id)
      // Never ends by itself: only the terminate's abort ends it.
      return new Promise((_resolve, reject) => {
        self.signal.addEventListener('abort', () => {
          abortedWith = self.signal.reason
          reject(self.signal.reason as Error)
        })
      })
    })
    app.task('node.add', (a: number, b: number) => a + b)
    apps.push(app)
    await app.start()
    const revoker = revoking({
      gate,
      send: [{ name: 'node.hold', args: [], queue }],
      revokes: [{ ids: [0], terminate: true }],
      after: [{ name: 'node.add', args: [2, 3], queue }],
    })
    const ids = await revoker.ids
    try {
      expect(await started).toBe(ids[0])
      await redis.set(gate, '1')
      const { outcomes } = await revoker.done
      expect(outcomes).toMatchObject([
        { id: ids[0], ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' },
        // Concurrency 1: the terminated run gave its slot back.
        { ok: true, value: 5 },
      ])
      expect(abortedWith).toMatchObject({ name: 'TaskRevokedError' })
      expect(await app.AsyncResult(ids[0]!).state()).toBe('REVOKED')
      expect((await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))).toEqual([])
      await forget(prefix, [...ids, outcomes[1]!.id])
    } catch (error) {
      await forget(prefix, ids)
      throw error
    }
  }, 30_000)

  it('a revoke heard by one celeriac process reaches a task another one takes later (the store’s revoked set)', async () => {
    const { queue: heard, prefix, gate } = queueOf()
    const { queue: later } = queueOf()
    const ran: string[] = []
    const serve = (queue: string): Celeriac => {
      const app = new Celeriac({ transport: celeryTransport({ url: REDIS_URL, prefix, queues: [queue] }), queues: { [queue]: {} } })
      app.task('node.add', { bind: true }, (self: Task, a: number, b: number) => {
        ran.push(self.request.id)
        return a + b
      })
      apps.push(app)
      return app
    }
    // Only the first process runs while Python revokes; the task waits in a queue nobody consumes yet.
    await serve(heard).start()
    const revoker = revoking({ gate, send: [{ name: 'node.add', args: [1, 2], queue: later }], revokes: [{ ids: [0] }] })
    const ids = await revoker.ids
    try {
      await redis.set(gate, '1')
      // Stored by the process that heard it (celeriac's own namespace under the prefix).
      await expect.poll(async () => (await redis.keys(`${prefix}::*${ids[0]!}*`)).length, { timeout: 10_000 }).toBeGreaterThan(0)
      await serve(later).start()
      const { outcomes } = await revoker.done
      expect(outcomes).toMatchObject([{ id: ids[0], ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' }])
      expect(ran).toEqual([])
      expect(await redis.llen(later)).toBe(0)
    } finally {
      await forget(prefix, ids)
    }
  }, 30_000)
})
