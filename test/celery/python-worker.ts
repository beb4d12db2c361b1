/**
 * A real Python Celery worker for the interop tests: Debian's python3-celery (5.2) runs
 * test/celery/fixtures/tasks.py on one queue of its own, `--pool=solo` (one task at a time, so a
 * test can hold it with a gate task). Started and stopped by its pid only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { reachable } from '../reachable.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/**
 * A Python with Celery and redis-py: `CELERIAC_PYTHON` if set, else Debian's /usr/bin/python3
 * (a pyenv or venv `python3` first on PATH usually lacks the Debian packages), else `python3`.
 * Undefined when none imports them.
 */
export function findPython(): string | undefined {
  const candidates = [process.env.CELERIAC_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => c !== undefined && c !== '')
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import celery, redis'], { stdio: 'ignore', timeout: 20_000 })
    if (probe.status === 0) return python
  }
  return undefined
}

/**
 * What the interop tests need, found once per file: whether Redis is up, a Python with Celery
 * (undefined: skip), and why they skip (`''` when they run), for the describe block's title.
 */
export async function celeryInterop(): Promise<{ up: boolean; python: string | undefined; skipWhy: string }> {
  const up = await reachable('127.0.0.1', 6379)
  const python = up ? findPython() : undefined
  const skipWhy = !up
    ? ': skipped, no Redis at 127.0.0.1:6379'
    : python === undefined
      ? ': skipped, no Python with Celery (apt-get install -y python3-celery python3-redis, or set CELERIAC_PYTHON)'
      : ''
  return { up, python, skipWhy }
}

/** Every Redis key kombu keeps for `queue`: its four priority lists and its binding. */
export function kombuKeys(queue: string): string[] {
  return [queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`]
}

/** Drops kombu's `unacked` entries of `queues` (a failing run may leave its messages taken and not acked). */
export async function dropUnacked(redis: Redis, queues: readonly string[]): Promise<void> {
  const unacked = await redis.hgetall('unacked')
  for (const [tag, entry] of Object.entries(unacked)) {
    if (queues.some((queue) => entry.includes(`"${queue}"`))) await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
  }
}

export interface PythonWorker {
  readonly pid: number
  /** What the worker wrote so far (its log), for a failing test's message. */
  log(): string
  /** Warm shutdown (SIGTERM), SIGKILL if it has not exited within 10 s; resolves once it exited. */
  stop(): Promise<void>
  /** kill -9 (a crash: nothing it holds is given back); resolves once it exited. */
  kill(): Promise<void>
}

/**
 * Starts a worker consuming `queue` on `url`; resolves once it says it is ready (or rejects with its log).
 * `env` adds to its environment (e.g. `CELERY_VISIBILITY_TIMEOUT`, seconds, read by fixtures/tasks.py).
 */
export function startPythonWorker(python: string, url: string, queue: string, env: Record<string, string> = {}): Promise<PythonWorker> {
  const child: ChildProcess = spawn(
    python,
    [
      '-m',
      'celery',
      '-A',
      'tasks',
      'worker',
      '--pool=solo',
      '-Q',
      queue,
      '-n',
      `${queue}@%h`,
      '--without-heartbeat',
      '--without-gossip',
      '--without-mingle',
      '-l',
      'INFO',
    ],
    { cwd: FIXTURES, env: { ...process.env, ...env, CELERY_URL: url, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const worker: PythonWorker = {
    pid: child.pid ?? -1,
    log: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.stop()
      reject(new Error(`The Python Celery worker did not get ready within 30 s:\n${output}`))
    }, 30_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      if (/ ready\.\s*$/m.test(output)) {
        clearTimeout(timer)
        resolve(worker)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`The Python Celery worker exited (code ${String(code)}) before it was ready:\n${output}`))
    })
  })
}

/** What Python's `AsyncResult(id)` says of a result: its state, the repr of its result (an exception's class and args) and the module of its class. */
export function pythonResult(python: string, url: string, id: string): { state: string; result: string; module: string } {
  const script = [
    'import json, sys',
    'from tasks import app',
    'r = app.AsyncResult(sys.argv[1])',
    'print(json.dumps({"state": r.state, "result": repr(r.result), "module": type(r.result).__module__}))',
  ].join('\n')
  const out = spawnSync(python, ['-c', script, id], {
    cwd: FIXTURES,
    env: { ...process.env, CELERY_URL: url, PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (out.status !== 0) throw new Error(`Python could not read the result of ${id}:\n${out.stderr}`)
  return JSON.parse(out.stdout) as { state: string; result: string; module: string }
}

/** One task a Python caller sends (see fixtures/caller.py). */
export interface PythonCall {
  readonly name: string
  readonly args: readonly unknown[]
  readonly kwargs?: Record<string, unknown>
  readonly queue: string
  readonly how?: 'send_task' | 'apply_async'
  /** Keyword arguments of `send_task` (countdown and expires in seconds, headers, root_id, parent_id…). */
  readonly options?: Record<string, unknown>
}

/** What Python's `AsyncResult.get()` gave for one call: the value, or the exception it raised. */
type PythonOutcome =
  | { readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly id: string; readonly ok: false; readonly type: string; readonly module: string; readonly args: string[]; readonly builtin: boolean }

export interface PythonCaller {
  readonly pid: number
  /** The ids of the tasks sent, once all are sent. */
  readonly ids: Promise<string[]>
  /** Each call's outcome, once the caller exited (rejects with its output if it failed). */
  readonly outcomes: Promise<PythonOutcome[]>
}

/**
 * Runs fixtures/caller.py as a child process (asynchronously: the celeriac app serving the calls
 * runs in this process); killed by its pid if it has not finished within 60 s.
 */
export function startPythonCaller(python: string, url: string, calls: readonly PythonCall[]): PythonCaller {
  const child = spawn(python, ['caller.py', JSON.stringify(calls)], {
    cwd: FIXTURES,
    env: { ...process.env, CELERY_URL: url, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let gotIds: (ids: string[]) => void = () => undefined
  let noIds: (error: Error) => void = () => undefined
  const ids = new Promise<string[]>((resolve, reject) => {
    gotIds = resolve
    noIds = reject
  })
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    const first = stdout.split('\n')
    if (first.length > 1) gotIds(JSON.parse(first[0]!) as string[])
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const outcomes = new Promise<PythonOutcome[]>((resolve, reject) => {
    // 'close', not 'exit': a child's last output may still be on its way when it has exited.
    child.once('close', (code) => {
      clearTimeout(timer)
      const lines = stdout.trim().split('\n')
      noIds(new Error(`The Python caller exited with ${String(code)} before it sent:\n${stdout}\n${stderr}`))
      if (code !== 0 || lines.length < 2) reject(new Error(`The Python caller exited with ${String(code)}:\n${stdout}\n${stderr}`))
      else resolve(JSON.parse(lines[1]!) as PythonOutcome[])
    })
  })
  return { pid: child.pid ?? -1, ids, outcomes }
}

/** A canvas for fixtures/canvas_caller.py: a task, or a chain, group or chord of them. */
export type PythonCanvas =
  | {
      readonly task: string
      readonly args?: readonly unknown[]
      readonly kwargs?: Record<string, unknown>
      readonly queue: string
      readonly immutable?: boolean
    }
  | { readonly chain: readonly PythonCanvas[] }
  | { readonly group: readonly PythonCanvas[] }
  | { readonly chord: readonly PythonCanvas[]; readonly body: PythonCanvas }

/** What the canvas caller printed: `get()` of the canvas's result, a fresh `AsyncResult` of its id, and its parents' states. */
export interface PythonCanvasOutcome {
  readonly id: string
  readonly get: { readonly ok: boolean; readonly value?: unknown; readonly type?: string; readonly module?: string; readonly args?: string[] }
  readonly fresh: { readonly ok: boolean; readonly value?: unknown; readonly type?: string; readonly module?: string; readonly args?: string[] }
  readonly parents: ReadonlyArray<{ readonly id: string; readonly state: string }>
}

/** Sends `canvas` from Python (fixtures/canvas_caller.py, a child process by pid) and resolves with what Python saw of its result. */
export function runPythonCanvas(python: string, url: string, canvas: PythonCanvas): Promise<PythonCanvasOutcome> {
  const child = spawn(python, ['canvas_caller.py', JSON.stringify(canvas)], {
    cwd: FIXTURES,
    env: { ...process.env, CELERY_URL: url, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': a child's last output may still be on its way when it has exited.
    child.once('close', (code) => {
      clearTimeout(timer)
      const lines = stdout.trim().split('\n')
      if (code !== 0 || lines.length < 2) reject(new Error(`The Python canvas caller exited with ${String(code)}:\n${stdout}\n${stderr}`))
      else resolve(JSON.parse(lines[1]!) as PythonCanvasOutcome)
    })
  })
}
