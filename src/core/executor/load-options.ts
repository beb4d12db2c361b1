/** How a worker pool retries loading its task module, typed and defaulted here for every pool. */
import { ConfigError } from '../model/errors.js'

/**
 * Options of a worker pool (`threads()`, `webWorkers()`) about loading the task module.
 *
 * @example
 * const loading: WorkerLoadOptions = { loadTimeout: 60_000, loadBackoff: { initial: 250, max: 10_000 } }
 * const app = new Celeriac({ executor: threads({ module: new URL('./tasks.js', import.meta.url), ...loading }) })
 */
export interface WorkerLoadOptions {
  /**
   * How long (ms, engine clock) the pool may have no loaded worker, once a load has failed,
   * before the tasks waiting for a worker fail with `WorkerLoadError` (and new ones fail at
   * once, until a worker loads again: the pool keeps retrying). A load that has not finished
   * after this long (real time: loading is the process's own I/O) is ended and counts as a
   * failed load. `Infinity` lets tasks wait for good. @default 30_000
   *
   * @example
   * threads({ module: new URL('./tasks.js', import.meta.url), loadTimeout: 10_000 })
   */
  loadTimeout?: number
  /**
   * The wait (ms, engine clock) before loading a worker again after a failed load: `initial`
   * after the first failure, doubling with each failure in a row up to `max`. While loads fail,
   * one worker at a time is tried; once one loads, the rest start at once.
   * @default { initial: 100, max: 5_000 }
   *
   * @example
   * threads({ module: new URL('./tasks.js', import.meta.url), loadBackoff: { initial: 500, max: 60_000 } })
   */
  loadBackoff?: { initial?: number; max?: number }
}

/** {@link WorkerLoadOptions} with every default applied. */
export interface LoadSchedule {
  readonly loadTimeout: number
  readonly initial: number
  readonly max: number
}

const DEFAULT_LOAD_TIMEOUT = 30_000
const DEFAULT_BACKOFF_INITIAL = 100
const DEFAULT_BACKOFF_MAX = 5_000

/** Validates `options` (of the pool `name`) and applies the defaults. */
export function loadSchedule(name: string, options: WorkerLoadOptions): LoadSchedule {
  const loadTimeout = options.loadTimeout ?? DEFAULT_LOAD_TIMEOUT
  if (typeof loadTimeout !== 'number' || Number.isNaN(loadTimeout) || loadTimeout < 0) {
    throw new ConfigError(`${name}: loadTimeout must be a number of ms >= 0 (or Infinity), got ${String(loadTimeout)}`)
  }
  const backoff = options.loadBackoff ?? {}
  if (backoff === null || typeof backoff !== 'object') {
    throw new ConfigError(`${name}: loadBackoff must be an object { initial?, max? } of ms, got ${String(backoff)}`)
  }
  const initial = backoff.initial ?? DEFAULT_BACKOFF_INITIAL
  const max = backoff.max ?? Math.max(initial, DEFAULT_BACKOFF_MAX)
  if (typeof initial !== 'number' || !Number.isFinite(initial) || initial <= 0) {
    throw new ConfigError(`${name}: loadBackoff.initial must be a finite number of ms > 0, got ${String(initial)}`)
  }
  if (typeof max !== 'number' || !Number.isFinite(max) || max < initial) {
    throw new ConfigError(`${name}: loadBackoff.max must be a finite number of ms >= loadBackoff.initial (${String(initial)}), got ${String(max)}`)
  }
  return { loadTimeout, initial, max }
}
