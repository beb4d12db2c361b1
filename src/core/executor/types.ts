/**
 * The Executor seam: what the engine asks of an executor, and what it gives one. The inline
 * executor, the worker pools of `threads()` and `webWorkers()`, and an executor of your own
 * implement it; the worker-side runtime they share is executor.ts's TaskRuntime.
 */
import type { TaskProfile } from '../model/options.js'
import type { FromRuntime, ToRuntime } from '../model/protocol.js'
import type { Task } from '../task/task.js'
import type { Clock } from '../time/clock.js'

/**
 * What an executor needs from the engine.
 *
 * @example
 * // An executor over inline() that logs every message its runtime reports to the engine.
 * const inner = inline()
 * const traced: Executor = {
 *   name: 'traced',
 *   capacity: inner.capacity,
 *   canTerminate: inner.canTerminate,
 *   reportsStart: inner.reportsStart,
 *   start: (host: ExecutorHost) =>
 *     inner.start({
 *       clock: host.clock,
 *       lookup: (name) => host.lookup(name),
 *       hold: (work) => host.hold(work),
 *       receive: (message) => {
 *         console.debug('runtime:', message.type)
 *         host.receive(message)
 *       },
 *     }),
 *   post: (message) => inner.post(message),
 *   stop: () => inner.stop(),
 * }
 */
export interface ExecutorHost {
  /** Delivers a runtime's message to the engine. */
  receive(message: FromRuntime): void
  /** The engine's own task registry (the inline executor runs these). */
  lookup(name: string): Task<never, unknown> | undefined
  /** The engine's clock: an executor's timers (a pool's load retries) run on it, virtual in tests. */
  readonly clock: Clock
  /**
   * Counts `work` as engine work until it settles, so a virtual clock does not move meanwhile
   * (runs waiting for a worker that is loading wait for real I/O, not for time).
   */
  hold(work: Promise<unknown>): void
}

/**
 * How a worker pool is doing: `app.inspect.stats().pool`.
 *
 * @example
 * const { pool } = app.inspect.stats()
 * if (pool?.failing) console.error(`no worker loads the task module (${String(pool.failedLoads)} tries): ${String(pool.lastLoadError)}`)
 */
export interface PoolHealth {
  /** Workers the pool keeps (its `size`). */
  size: number
  /** Workers loaded and taking tasks. */
  live: number
  /** Workers loading the task module now. */
  loading: number
  /** Loads of the task module that failed since start (each retry counts). */
  failedLoads: number
  /** The message of the last failed load's error, or null. */
  lastLoadError: string | null
  /** Workers started to replace one that died or was terminated. */
  replaced: number
  /** When the next load is tried after a failure (epoch ms, engine clock), or null. */
  nextLoadAt: number | null
  /** Whether tasks fail now with `WorkerLoadError`: no worker has loaded within `loadTimeout`. */
  failing: boolean
}

/**
 * Where tasks run. Factories: `inline()`, `threads()` (Node), `webWorkers()` (browser).
 *
 * @example
 * // An executor of your own, in outline: here, inline() that counts the runs posted to it.
 * let posted = 0
 * const inner = inline()
 * const counting: Executor = {
 *   name: 'counting',
 *   capacity: inner.capacity,
 *   canTerminate: inner.canTerminate,
 *   reportsStart: inner.reportsStart,
 *   start: (host) => inner.start(host),
 *   post: (message) => {
 *     if (message.type === 'run') posted++
 *     inner.post(message)
 *   },
 *   stop: () => inner.stop(),
 * }
 * const app = new Celeriac({ executor: counting })
 */
export interface Executor {
  readonly name: string
  /** How many tasks it can run at once (Infinity when unbounded). */
  readonly capacity: number
  /** Whether `terminate` and hard time limits really stop a task (a worker is killed). */
  readonly canTerminate: boolean
  /**
   * Whether it holds runs before starting them (prefetch) and reports `started` for each; the
   * engine then acks and arms time limits at that report instead of at dispatch.
   */
  readonly reportsStart: boolean
  /**
   * With `reportsStart`: whether some held run can start now (a worker has a free task slot for
   * it). The virtual clock asks, through the engine, whether the engine is quiet: held runs
   * queued behind tasks parked on the clock cannot start until time moves, so they do not keep
   * it from advancing.
   */
  startable?(): boolean
  /** Starts the runtimes (a worker pool loads the task module); messages from them go to `host`. */
  start(host: ExecutorHost): Promise<void>
  /** Sends a message to the runtime(s). */
  post(message: ToRuntime): void
  /** Tasks the runtimes registered, with their profiles (worker executors); absent when they are the host's. */
  registered?(): ReadonlyMap<string, TaskProfile>
  /** A worker pool's health; absent when there are no workers (inline). */
  health?(): PoolHealth
  /** Stops the runtimes (workers are ended); nothing is posted after it. */
  stop(): Promise<void>
}
