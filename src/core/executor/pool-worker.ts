/**
 * The seam between the pool and a kind of worker (Node worker_threads, browser Web Workers): what
 * the pool needs of a worker, what a worker reports back, and the pool's options.
 */
import type { FromWorker, ToWorker } from './wire.js'
import type { WorkerLoadOptions } from './load-options.js'

/** The few things the pool needs from a worker. */
export interface PoolWorker {
  post(batch: ToWorker): void
  /** Ends the worker now (a busy loop included). */
  terminate(): Promise<void> | void
  /**
   * At the pool's stop, instead of `terminate`, for a worker that loaded, holds no run and was not
   * being ended: a kind of worker that keeps idle workers for a later pool (the test suite's
   * warm threads, `test/workers/warm-threads.ts`) takes it back here. Absent: terminated.
   */
  retire?(): Promise<void> | void
  /**
   * Whether the worker keeps the host running (Node: `ref`/`unref`). A worker holds it while it
   * starts and while it has runs; an idle one does not, so only the app's `keepAlive` decides.
   */
  hold?(held: boolean): void
}

/** Starts a worker for the pool, reporting to `events`. */
export type Spawn = (events: PoolWorkerEvents) => PoolWorker

/**
 * Wraps an executor's way of starting workers; `key` is the same for workers started alike.
 * Internal: the test suite keeps idle workers for the next app with it.
 */
export type SpawnThrough = (spawn: Spawn, key: string) => Spawn

/** Callbacks a spawned worker reports to. */
export interface PoolWorkerEvents {
  message(message: FromWorker): void
  /** The worker is gone (crash, exit, out of memory); `error` says why if known. */
  exit(error: Error | undefined): void
}

export interface PoolOptions extends WorkerLoadOptions {
  name: string
  size: number
  /** How many tasks one worker runs at once. @default 1 (Celery prefork) */
  tasksPerWorker: number
  /**
   * How many runs a worker holds per task it can run (Celery's prefetch multiplier): the next run
   * is already there when one ends, so a worker never waits a round trip. Held runs are not
   * started (not acked); if the worker dies they are queued again. @default 4
   */
  prefetch: number
  /** Where errors name the module. */
  moduleName: string
  /**
   * What to do when a worker says another protocol version than this celeriac's (its entry is
   * another celeriac's): which worker entry to use instead. Ends the ConfigError its load fails with.
   */
  otherWire?: string
  /**
   * Runs `fn` once the messages that have arrived from the workers are handled (Node:
   * `setImmediate`). Runs for a worker that still holds others wait for it, so that every run
   * the handled outcomes made room for goes in one postMessage. Without it they go each tick.
   */
  afterArrivals?: (fn: () => void) => void
  spawn: Spawn
}
