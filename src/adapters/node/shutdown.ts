/**
 * Graceful shutdown on signals, as a Celery worker does it: the first SIGINT or SIGTERM is a
 * warm shutdown (stop taking work, let running tasks finish, close storage, exit), a second
 * one during it is a cold shutdown (exit at once; durable storage recovers as after a crash).
 */
import type { Celeriac } from '../../core/app/app.js'
import { ConfigError } from '../../core/model/errors.js'

/**
 * Options of {@link shutdownOnSignals}.
 *
 * @example
 * shutdownOnSignals(app, { timeout: 30_000, signals: ['SIGTERM'] })
 */
export interface ShutdownOptions {
  /** The signals that shut down. @default ['SIGINT', 'SIGTERM'] */
  signals?: readonly NodeJS.Signals[]
  /**
   * How long the warm shutdown waits for running tasks, ms of real time; then they are
   * cancelled as by `app.stop({ timeout })`. @default no limit (Celery's warm shutdown)
   */
  timeout?: number
  /**
   * End the process once the app has stopped, with Celery's exit codes: 0 after SIGTERM, 1 after
   * SIGINT or a failed stop. `false` leaves the process to end by itself (`process.exitCode` is
   * set). A cold shutdown always ends it, with code 1. @default true
   */
  exit?: boolean
  /** Where the shutdown says what it does. @default a line on stderr */
  log?: (text: string) => void
}

/**
 * Stops `app` gracefully on SIGINT / SIGTERM (Ctrl+C, `kill`, a container stop). The first
 * signal stops consuming, waits for the running tasks, closes the storage (queued tasks stay
 * queued for the next start) and ends the process; a second one ends it at once. Returns a
 * function that removes the handlers.
 *
 * @example
 * import { Celeriac } from 'celeriac'
 * import { fileStorage, shutdownOnSignals } from 'celeriac/node'
 *
 * const app = new Celeriac({ storage: fileStorage({ dir: './jobs' }) })
 * await app.start() // runs until stopped
 * shutdownOnSignals(app, { timeout: 30_000 })
 */
export function shutdownOnSignals(app: Pick<Celeriac, 'stop'>, options: ShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new ConfigError("shutdownOnSignals: signals must be a non-empty list of signal names, e.g. ['SIGINT', 'SIGTERM']")
  }
  if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout >= 0)) {
    throw new ConfigError(`shutdownOnSignals: timeout must be a number of ms >= 0, got ${String(options.timeout)}`)
  }
  const log = options.log ?? ((text: string) => process.stderr.write(`${text}\n`))
  const exit = options.exit ?? true
  let warm = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (warm) {
      log(`celeriac: cold shutdown (${signal}): exiting now; running tasks are lost or, with acksLate, run again at the next start`)
      process.exit(1)
    }
    warm = true
    log(`celeriac: warm shutdown (${signal}): waiting for running tasks; ${signal} again to exit at once`)
    app.stop(options.timeout === undefined ? {} : { timeout: options.timeout }).then(
      () => end(signal === 'SIGTERM' ? 0 : 1),
      (error: unknown) => {
        log(`celeriac: warm shutdown failed: ${String(error)}`)
        end(1)
      },
    )
  }
  const end = (code: number): void => {
    if (exit) process.exit(code)
    process.exitCode = code
    remove()
  }
  const remove = (): void => {
    for (const signal of signals) process.off(signal, onSignal)
  }
  for (const signal of signals) process.on(signal, onSignal)
  return remove
}
