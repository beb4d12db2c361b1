/**
 * The base of every error celeriac raises, and the codes that tell them apart. The classes are
 * split by concept beside it (run-errors.ts, app-errors.ts, boundary-errors.ts); errors.ts
 * gathers them.
 */

/**
 * What every error class takes beside its message: the error that caused it, kept as `cause`.
 *
 * @example
 * class QuotaExceeded extends CeleriacError {
 *   static {
 *     QuotaExceeded.prototype.name = 'QuotaExceeded'
 *   }
 *   constructor(message: string, options?: CeleriacErrorOptions) {
 *     super('CONFIG', message, options)
 *   }
 * }
 * throw new QuotaExceeded('no quota left for today', { cause: new RangeError('42 > 40') })
 */
export interface CeleriacErrorOptions {
  cause?: unknown
}

/**
 * The `code` of each error class, one each; stable across versions.
 *
 * @example
 * function retryable(code: ErrorCode): boolean {
 *   return code === 'TIMEOUT' || code === 'WORKER_LOST' || code === 'STORAGE'
 * }
 * try {
 *   await r.get({ timeout: 10_000 })
 * } catch (error) {
 *   if (error instanceof CeleriacError && retryable(error.code)) await add.delay(2, 2)
 *   else throw error
 * }
 */
export type ErrorCode =
  | 'NOT_REGISTERED'
  | 'SERIALIZATION'
  | 'TASK_ERROR'
  | 'RETRY'
  | 'MAX_RETRIES_EXCEEDED'
  | 'TASK_REVOKED'
  | 'TIME_LIMIT_EXCEEDED'
  | 'SOFT_TIME_LIMIT_EXCEEDED'
  | 'CHORD_ERROR'
  | 'TIMEOUT'
  | 'REJECT'
  | 'IGNORE'
  | 'WORKER_LOST'
  | 'WORKER_LOAD'
  | 'STORAGE'
  | 'CONFIG'
  | 'BAD_MESSAGE'
  | 'CHANNEL_CLOSED'

/**
 * Base class of every error celeriac raises. `code` is stable across versions.
 *
 * Each class names itself with a string literal on its prototype, in a static block
 * (`ChordError.prototype.name = 'ChordError'`), not from `new.target.name` or `constructor.name`,
 * which a minifier renames: the name is how an error finds its class again across a boundary (see
 * {@link registerErrorClass}). A subclass of your own does the same, or it is named as its parent.
 *
 * @example
 * try {
 *   await r.get()
 * } catch (error) {
 *   // One check for every error celeriac raises; `code` tells them apart, whatever the message says.
 *   if (error instanceof CeleriacError) console.error(error.code, error.message)
 *   else throw error // the task's own error (a registered class), or a bug
 * }
 */
export class CeleriacError extends Error {
  static {
    CeleriacError.prototype.name = 'CeleriacError'
  }
  /** Stable machine-readable code, e.g. `'NOT_REGISTERED'`. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: CeleriacErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}
