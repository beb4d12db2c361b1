/**
 * The worker_threads executor: tasks run off the main thread in a pool of Node workers, each of
 * which imports your task module. Revoke with `terminate` and hard time limits kill the worker
 * (a synchronous busy loop included) and start a replacement.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { ResourceLimits } from 'node:worker_threads'
import { ConfigError } from '../../core/model/errors.js'
import type { Executor } from '../../core/executor/types.js'
import { poolExecutor } from '../../core/executor/pool.js'
import type { WorkerLoadOptions } from '../../core/executor/load-options.js'
import { WIRE_VERSION } from '../../core/executor/wire.js'
import type { FromWorker } from '../../core/executor/wire.js'
import type { PoolWorker, PoolWorkerEvents, SpawnThrough } from '../../core/executor/pool-worker.js'
import { takeAllReports, takeReports } from './reports.js'
import { wakeData, wakeUp } from './wake.js'

/**
 * Options of {@link threads}; `loadTimeout` and `loadBackoff` say how failed loads are retried.
 *
 * @example
 * const executor = threads({ module: new URL('./worker.ts', import.meta.url), size: 4, tasksPerWorker: 1 })
 */
export interface ThreadsOptions extends WorkerLoadOptions {
  /**
   * The task module each worker imports: a `file:` URL (`new URL('./tasks.js', import.meta.url)`)
   * or a path (a relative one resolves against the working directory). Importing it must register
   * the tasks (`app.task(...)` at module level).
   * A `.ts` module works when `tsx` is installed: the workers then load it through tsx.
   */
  module: URL | string
  /** Number of workers. @default os.availableParallelism() */
  size?: number
  /** Tasks one worker runs at once (async tasks can share a worker). @default 1 */
  tasksPerWorker?: number
  /**
   * Runs a worker holds per task slot, so it never waits a round trip (Celery's prefetch multiplier).
   * As Celery's optimizing guide advises: many short tasks run faster with a large value (64 or 128:
   * fewer, larger messages, fewer wake-ups); long tasks want 1, so that no run waits behind a long
   * one on a busy worker while another worker is idle. @default 4
   */
  prefetch?: number
  /** Memory limits of each worker (an out-of-memory worker fails its task with WorkerLostError). */
  resourceLimits?: ResourceLimits
  /** Node flags for the workers. @default [] */
  execArgv?: string[]
  /**
   * Escape hatch: the worker entry script, for an app that bundles celeriac and emits the
   * `celeriac/node-worker` entry elsewhere than next to the chunk that holds celeriac.
   * @default celeriac's own `node-worker` entry, in the module format celeriac was loaded in
   */
  workerUrl?: URL
  /**
   * How an idle worker waits for its next task (after its {@link idleSpin}). `'event-loop'`: in
   * its event loop, as any Node thread waits for a message. `'atomics'`: as piscina's workers do
   * (its `atomics: 'sync'`), in `Atomics.wait` on a counter the pool bumps after each post,
   * taking the task off its port itself, so a task sent to an idle worker starts without its
   * event loop's wake-up: tasks sent one at a time make their round trip a few µs sooner, about
   * as fast as piscina's (measured in NOTES.md). Tasks sent many at a time run as before: a
   * worker sent several at once does not rest.
   *
   * What it costs: while a worker rests, its event loop does not run, so the task module's
   * unref'd timers and its listeners on ports it unref'd wait, for up to 100 ms, after which the
   * event loop gets a turn (and then the worker rests again); while tasks come one at a time the
   * loop turns at least every 4 tasks. A worker does not rest while the
   * task module keeps anything ref'd (a timer, an interval, a socket, a listened port, a pending
   * request), nor while it runs, holds or awaits anything. Without `SharedArrayBuffer` workers wait
   * in their event loop. @default 'event-loop'
   *
   * @example
   * // Many one-off tasks sent one at a time (a desktop app's clicks), a task module with no
   * // background timers of its own:
   * const executor = threads({ module: new URL('./tasks.js', import.meta.url), size: 2, idleWait: 'atomics' })
   */
  idleWait?: 'event-loop' | 'atomics'
  /**
   * How long, in µs, a worker that has just finished the one task it was sent keeps looking for
   * the next itself before it waits (as {@link idleWait} says). A task sent one at a time, as soon
   * as the last one's result is in, then reaches a worker that is still running: no wake-up of a
   * sleeping thread, which on a virtual machine can cost more than the rest of the round trip
   * (measured in NOTES.md). A spin that finds nothing costs the worker that much CPU; tasks sent
   * many at a time never spin (a worker sent several at once goes on with them), nor does a
   * worker whose task module keeps anything ref'd of its own. `0` turns it off. At most 1000.
   * @default 50
   *
   * @example
   * // A laptop on battery, tasks rare: no spinning at all.
   * const executor = threads({ module: new URL('./tasks.js', import.meta.url), idleSpin: 0 })
   */
  idleSpin?: number
}

/** How long a resting worker keeps its event loop waiting at most (`idleWait: 'atomics'`), in ms. */
const REST_TIMEOUT = 100
/** `idleSpin`'s default, in µs: longer than the engine's own round between a result and the next send (~20-30 µs on a slow VM). */
const IDLE_SPIN = 50
/** The longest `idleSpin`, in µs: a spin blocks the worker's event loop, so it stays short. */
const MAX_IDLE_SPIN = 1_000

/**
 * How long workers rest and spin, past the public limits: for the test suite, whose workers
 * rest or spin up to an hour where a rest or spin that should not happen must hang a test.
 */
export interface IdleLimits {
  /** `idleWait: 'atomics'`: the longest rest, in ms. @default 100 */
  readonly restTimeout?: number
  /** In place of `idleSpin` (µs) when given, unchecked. */
  readonly idleSpin?: number
}

/**
 * Runs tasks in `worker_threads`. A worker that dies is replaced; a replacement that fails to
 * load is retried with backoff (`loadBackoff`), and tasks that wait longer than `loadTimeout` for
 * a worker fail with `WorkerLoadError`. `start()` rejects with a `ConfigError` when no worker
 * loads at all.
 *
 * @example
 * const app = new Celeriac({ executor: threads({ module: new URL('./tasks.js', import.meta.url), size: 4 }) })
 */
export function threads(options: ThreadsOptions): Executor & { readonly workers: number; readonly replaced: number } {
  return threadsExecutor(options)
}

/** What a worker thread of the pool is started with. */
interface ThreadSpec {
  /** The worker script, or a bootstrap's source (`eval`). */
  readonly script: URL | string
  readonly eval: boolean
  readonly module: string
  readonly concurrency: number
  readonly execArgv: string[]
  readonly resourceLimits?: ResourceLimits
  /** `idleWait: 'atomics'`: how long a rest lasts at most (ms); absent, workers wait in their event loop. */
  readonly restTimeout?: number
  /** `idleSpin`, in ms. */
  readonly spin: number
}

/**
 * {@link threads}, its workers started through `through` (given the spawn and a key that is the
 * same for workers started alike), resting and spinning as `limits` say: internal, for the test
 * suite's kept workers and its tests of idle workers.
 */
export function threadsExecutor(
  options: ThreadsOptions,
  through: SpawnThrough = (spawn) => spawn,
  limits: IdleLimits = {},
): Executor & { readonly workers: number; readonly replaced: number } {
  if (options === null || typeof options !== 'object' || options.module === undefined) {
    throw new ConfigError("threads({ module }): give the task module's URL, e.g. new URL('./tasks.js', import.meta.url)")
  }
  const idleWait = options.idleWait ?? 'event-loop'
  if (idleWait !== 'event-loop' && idleWait !== 'atomics') {
    throw new ConfigError(`threads({ idleWait }): 'event-loop' or 'atomics', got ${JSON.stringify(idleWait) ?? String(idleWait)}`)
  }
  const idleSpin = options.idleSpin ?? IDLE_SPIN
  if (typeof idleSpin !== 'number' || !(idleSpin >= 0 && idleSpin <= MAX_IDLE_SPIN)) {
    throw new ConfigError(
      `threads({ idleSpin }): microseconds from 0 (never spin) to ${String(MAX_IDLE_SPIN)}, got ${typeof idleSpin === 'number' ? String(idleSpin) : (JSON.stringify(idleSpin) ?? String(idleSpin))}`,
    )
  }
  const moduleUrl = toUrl(options.module)
  const workerUrl = options.workerUrl ?? defaultWorkerUrl()
  const typescript = /\.[cm]?tsx?$/.test(moduleUrl.pathname) || /\.[cm]?tsx?$/.test(workerUrl.pathname)
  // TypeScript: a bootstrap registers tsx inside the worker, then imports the entry (Node 20
  // does not apply --import loader hooks to a worker's own .ts entry).
  const bootstrap = typescript ? tsxBootstrap(moduleUrl, workerUrl) : undefined
  const tasksPerWorker = options.tasksPerWorker ?? 1
  const spec: ThreadSpec = {
    script: bootstrap ?? workerUrl,
    eval: bootstrap !== undefined,
    module: moduleUrl.href,
    concurrency: tasksPerWorker,
    execArgv: options.execArgv ?? [],
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    ...(idleWait === 'atomics' ? { restTimeout: limits.restTimeout ?? REST_TIMEOUT } : {}),
    spin: (limits.idleSpin ?? idleSpin) / 1_000,
  }
  return poolExecutor({
    name: 'threads',
    size: options.size ?? availableParallelism(),
    tasksPerWorker,
    prefetch: options.prefetch ?? 4,
    loadTimeout: options.loadTimeout,
    loadBackoff: options.loadBackoff,
    moduleName: moduleUrl.href,
    otherWire: otherWire(workerUrl, options.workerUrl !== undefined),
    afterArrivals: setImmediate,
    spawn: through(
      (events) => {
        requireWorkerEntry(workerUrl, options.workerUrl !== undefined)
        return startThread(spec, events)
      },
      JSON.stringify({ ...spec, script: String(spec.script) }),
    ),
  })
}

/** A new worker thread for `spec`, its messages and its end reported to `events`. */
function startThread(spec: ThreadSpec, events: PoolWorkerEvents): PoolWorker {
  const wake = spec.restTimeout === undefined ? undefined : wakeData(spec.restTimeout)
  // The worker reports on a port of its own, not its parentPort: a worker posts about once a task
  // (what it has to say goes before each body, which may block its thread), and each message the
  // main thread's event loop delivers is a callback of its own, with a microtask checkpoint (the
  // engine's commit round) after it. Here one callback takes those waiting behind it too, up to
  // a bound (reports.ts).
  const { port1: reports, port2: replyPort } = new MessageChannel()
  const worker = new Worker(spec.script, {
    eval: spec.eval,
    workerData: {
      module: spec.module,
      concurrency: spec.concurrency,
      reports: replyPort,
      wire: WIRE_VERSION,
      spin: spec.spin,
      ...(wake === undefined ? {} : { wake }),
    },
    transferList: [replyPort],
    execArgv: spec.execArgv,
    ...(spec.resourceLimits === undefined ? {} : { resourceLimits: spec.resourceLimits }),
  })
  let failure: Error | undefined
  const deliver = (message: FromWorker): void => events.message(message)
  reports.on('message', (message: FromWorker) => takeReports(reports, message, deliver))
  // This celeriac's workers say nothing on the parentPort. A celeriac hello there comes from a
  // worker entry of a celeriac from before the reports port: passed on, the pool finds that it
  // says no protocol version and fails the load at once, rather than after loadTimeout.
  worker.on('message', (message: unknown) => {
    if (isHello(message)) deliver(message)
  })
  // Only the worker itself (`hold`) keeps the process.
  reports.unref()
  worker.on('error', (error) => (failure = error))
  // Without an error event, the exit code is all there is to say why (process.exit in a task or at import).
  // What it posted before it ended is taken first: a run it finished is not lost with it.
  worker.on('exit', (code) => {
    try {
      takeAllReports(reports, deliver)
    } finally {
      // Even when a report could not be handled, the worker is gone: its runs are lost and it is replaced.
      reports.close()
      events.exit(failure ?? (code === 0 ? undefined : new Error(`exit code ${String(code)}`)))
    }
  })
  const counter = wake?.counter
  return {
    post:
      counter === undefined
        ? (batch) => worker.postMessage(batch)
        : (batch) => {
            worker.postMessage(batch)
            wakeUp(counter)
          },
    terminate: async () => {
      await worker.terminate()
    },
    hold: (held) => (held ? worker.ref() : worker.unref()),
  }
}

/** A worker's hello, as every celeriac's worker says it (`{ type: 'ready', tasks }` or `{ type: 'init-failed', error }`). */
function isHello(message: unknown): message is FromWorker {
  if (message === null || typeof message !== 'object') return false
  const { type } = message as { type?: unknown }
  return (type === 'ready' && Array.isArray((message as { tasks?: unknown }).tasks)) || (type === 'init-failed' && 'error' in message)
}

/** What to do when a worker speaks another celeriac's protocol: the pool's ConfigError ends with it. */
function otherWire(workerUrl: URL, given: boolean): string {
  const entry = workerUrl.protocol === 'file:' ? fileURLToPath(workerUrl) : workerUrl.href
  return given
    ? `point threads({ workerUrl }) (now ${entry}) at the 'celeriac/node-worker' entry of the celeriac this app runs (the same version and build), or leave workerUrl out to use celeriac's own`
    : `celeriac's own worker entry ${entry} is not of the same build as the celeriac that loaded it: reinstall celeriac (its files are mixed), or, if the app bundles celeriac, rebuild so that the node-worker entry next to it comes from the same build, or pass threads({ workerUrl }) where that entry is`
}

function toUrl(module: URL | string): URL {
  if (module instanceof URL) return module
  if (/^[a-z]+:\/\//i.test(module) || module.startsWith('file:')) return new URL(module)
  return pathToFileURL(module)
}

function defaultWorkerUrl(): URL {
  // Built: the node-worker entry next to this chunk, in this chunk's module format (the CommonJS
  // build's import.meta.url is tsup's shim, a .cjs file): a CommonJS celeriac starts the CommonJS
  // worker, whose task module then requires the same copy. From source (tests, tsx): the .ts entry.
  const here = import.meta.url
  if (here.endsWith('.ts')) return new URL('./worker.ts', here)
  return new URL(`./node-worker${/\.[cm]?js$/.exec(new URL(here).pathname)?.[0] ?? '.js'}`, here)
}

/**
 * Fails at once, naming the file, when the worker entry is missing (say celeriac was bundled into
 * the app, and its worker entry was not), rather than a worker that cannot start.
 */
function requireWorkerEntry(workerUrl: URL, given: boolean): void {
  if (workerUrl.protocol !== 'file:' || existsSync(workerUrl)) return
  const path = fileURLToPath(workerUrl)
  throw new ConfigError(
    given
      ? `threads({ workerUrl }): the worker entry ${path} does not exist; point workerUrl at the built 'celeriac/node-worker' entry`
      : `threads(): celeriac's worker entry ${path} does not exist: celeriac was bundled into the app without it. Keep celeriac external to the bundle, or make 'celeriac/node-worker' an entry of the bundle named node-worker (its file next to the chunk that holds celeriac), or pass threads({ workerUrl }) where it is`,
  )
}

function tsxBootstrap(moduleUrl: URL, workerUrl: URL): string {
  try {
    const require = createRequire(fileURLToPath(moduleUrl))
    const api = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href
    return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}) })`
  } catch {
    throw new ConfigError(
      `threads(): ${moduleUrl.href} is TypeScript and tsx is not installed; install tsx (npm i -D tsx) or point module at the built .js file`,
    )
  }
}
