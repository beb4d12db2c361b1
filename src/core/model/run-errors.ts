/**
 * How a run ends other than with its value: what a task throws to steer its run (`Retry`,
 * `Reject`, `Ignore`) and what `get()` raises when the run failed, was revoked, ran out of time or
 * lost its worker.
 */
import { CeleriacError, type CeleriacErrorOptions } from './error-base.js'

/**
 * A task failed with an error whose class is not known here. Carries the original
 * `originalName`, message, stack and own data.
 *
 * @example
 * try { await r.get() } catch (e) { if (e instanceof TaskError) console.log(e.originalName, e.message) }
 */
export class TaskError extends CeleriacError {
  static {
    TaskError.prototype.name = 'TaskError'
  }
  originalName: string
  constructor(message: string, originalName = 'Error', options?: CeleriacErrorOptions) {
    super('TASK_ERROR', message, options)
    this.originalName = originalName
  }
}

/** Options of a retry, as given to `self.retry()`. */
export interface RetryRequest {
  /** Error that caused the retry; raised as is once retries run out. */
  exc?: unknown
  /** Delay before the next attempt, ms. */
  countdown?: number
  /** When the next attempt is due. */
  eta?: Date | number
  /** Overrides the task's `maxRetries` for this decision. */
  maxRetries?: number | null
}

/**
 * Thrown (by `throw self.retry(...)`) to re-run the task later.
 *
 * @example
 * app.task('web.fetch', { bind: true }, async (self, url: string) => { throw self.retry({ countdown: 60_000 }) })
 */
export class Retry extends CeleriacError {
  static {
    Retry.prototype.name = 'Retry'
  }
  readonly exc: unknown
  readonly request: RetryRequest
  constructor(request: RetryRequest = {}) {
    const excMessage = request.exc instanceof Error ? `: ${request.exc.message}` : ''
    super('RETRY', `Retry requested${excMessage}`)
    this.exc = request.exc
    this.request = request
  }
}

/** The task asked to retry past its `maxRetries` and gave no `exc` to raise instead. */
export class MaxRetriesExceededError extends CeleriacError {
  static {
    MaxRetriesExceededError.prototype.name = 'MaxRetriesExceededError'
  }
  constructor(message: string) {
    super('MAX_RETRIES_EXCEEDED', message)
  }
}

/** `get()` on a revoked (or expired) task. `reason` is `'revoked'`, `'expired'` or `'terminated'`. */
export class TaskRevokedError extends CeleriacError {
  static {
    TaskRevokedError.prototype.name = 'TaskRevokedError'
  }
  reason: string
  constructor(message: string, reason = 'revoked') {
    super('TASK_REVOKED', message)
    this.reason = reason
  }
}

/** The task ran past its hard `timeLimit`. */
export class TimeLimitExceeded extends CeleriacError {
  static {
    TimeLimitExceeded.prototype.name = 'TimeLimitExceeded'
  }
  constructor(message: string) {
    super('TIME_LIMIT_EXCEEDED', message)
  }
}

/** The reason `self.signal` aborts with when the soft time limit passes; a task may catch it. */
export class SoftTimeLimitExceeded extends CeleriacError {
  static {
    SoftTimeLimitExceeded.prototype.name = 'SoftTimeLimitExceeded'
  }
  constructor(message: string) {
    super('SOFT_TIME_LIMIT_EXCEEDED', message)
  }
}

/** A chord's header task failed or was revoked; the body did not run. `cause` is the original. */
export class ChordError extends CeleriacError {
  static {
    ChordError.prototype.name = 'ChordError'
  }
  taskId: string
  constructor(message: string, taskId: string, options?: CeleriacErrorOptions) {
    super('CHORD_ERROR', message, options)
    this.taskId = taskId
  }
}

/**
 * Thrown by a task to reject its message; with `requeue` it is queued again.
 *
 * @example
 * app.task('mail.send', (to: string) => { if (!to.includes('@')) throw new Reject(`not an address: ${to}`) })
 */
export class Reject extends CeleriacError {
  static {
    Reject.prototype.name = 'Reject'
  }
  readonly requeue: boolean
  constructor(reason = 'rejected', requeue = false) {
    super('REJECT', reason)
    this.requeue = requeue
  }
}

/**
 * Thrown by a task to end it with no state stored and no hooks after.
 *
 * @example
 * app.task('feeds.poll', () => { if (alreadyPolled()) throw new Ignore() })
 */
export class Ignore extends CeleriacError {
  static {
    Ignore.prototype.name = 'Ignore'
  }
  constructor(message = 'ignored') {
    super('IGNORE', message)
  }
}

/** The process or worker running the task died before it finished. */
export class WorkerLostError extends CeleriacError {
  static {
    WorkerLostError.prototype.name = 'WorkerLostError'
  }
  constructor(message: string) {
    super('WORKER_LOST', message)
  }
}
