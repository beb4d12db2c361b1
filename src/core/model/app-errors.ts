/**
 * Errors of the app's own use: a task name nobody registered, bad configuration or a call at the
 * wrong time, a wait that ran out, a worker pool that cannot load its tasks.
 */
import { CeleriacError, type CeleriacErrorOptions } from './error-base.js'

/**
 * A task name that no app (or worker) has registered.
 *
 * @example
 * try {
 *   await app.sendTask('math.ad', [2, 2]) // a typo
 * } catch (error) {
 *   if (error instanceof NotRegistered) console.error(error.message)
 *   else throw error
 * }
 */
export class NotRegistered extends CeleriacError {
  static {
    NotRegistered.prototype.name = 'NotRegistered'
  }
  constructor(message: string) {
    super('NOT_REGISTERED', message)
  }
}

/**
 * Bad configuration, bad options, or a call at the wrong time (e.g. sending before `start()`).
 *
 * @example
 * try { new Celeriac({ queues: { default: { concurrency: 0 } } }) } catch (e) { if (e instanceof ConfigError) console.log(e.code, e.message) }
 */
export class ConfigError extends CeleriacError {
  static {
    ConfigError.prototype.name = 'ConfigError'
  }
  constructor(message: string) {
    super('CONFIG', message)
  }
}

/**
 * A wait (`get({ timeout })`, `stop({ timeout })`, `acquire({ wait })`) ran out of time.
 *
 * @example
 * await r.get({ timeout: 5_000 }).catch((e) => { if (e instanceof TimeoutError) console.log('still running') })
 */
export class TimeoutError extends CeleriacError {
  static {
    TimeoutError.prototype.name = 'TimeoutError'
  }
  constructor(message: string) {
    super('TIMEOUT', message)
  }
}

/**
 * A worker pool could not load its task module again: a queued task fails with it when no worker
 * loaded within the pool's `loadTimeout` (`app.start()` reports a module that never loads with a
 * `ConfigError`). `module` names the module; `cause` is the last load's error (the module threw,
 * registered no tasks, or its worker exited).
 *
 * @example
 * await r.get().catch((error) => {
 *   if (error instanceof WorkerLoadError) console.error(`workers cannot load ${error.module}:`, error.cause)
 * })
 */
export class WorkerLoadError extends CeleriacError {
  static {
    WorkerLoadError.prototype.name = 'WorkerLoadError'
  }
  /** The task module the workers load (its URL), or what makes the workers. */
  readonly module: string
  constructor(message: string, module = '', options?: CeleriacErrorOptions) {
    super('WORKER_LOAD', message, options)
    this.module = module
  }
}
