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

/**
 * Options of a retry, as given to `self.retry()`.
 *
 * @example
 * app.task('web.fetch', { bind: true, maxRetries: 3 }, async (self, url: string) => {
 *   const response = await fetch(url)
 *   if (response.status === 503) throw self.retry({ countdown: 30_000, exc: new Error(`503 from ${url}`) })
 *   return response.text()
 * })
 */
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

/**
 * The task asked to retry past its `maxRetries` and gave no `exc` to raise instead.
 *
 * @example
 * const poll = app.task('jobs.poll', { bind: true, maxRetries: 2 }, (self) => {
 *   throw self.retry({ countdown: 1_000 }) // never done: the third ask fails the task
 * })
 * const r = await poll.delay()
 * await r.get().catch((error) => {
 *   if (error instanceof MaxRetriesExceededError) console.warn(`gave up after ${String(2 + 1)} runs`)
 * })
 */
export class MaxRetriesExceededError extends CeleriacError {
  static {
    MaxRetriesExceededError.prototype.name = 'MaxRetriesExceededError'
  }
  constructor(message: string) {
    super('MAX_RETRIES_EXCEEDED', message)
  }
}

/**
 * `get()` on a revoked (or expired) task. `reason` is `'revoked'`, `'expired'` or `'terminated'`.
 *
 * @example
 * const r = await add.applyAsync([2, 2], { countdown: 60_000 })
 * await r.revoke()
 * try {
 *   await r.get()
 * } catch (error) {
 *   if (error instanceof TaskRevokedError) console.log(error.code, error.reason) // TASK_REVOKED revoked
 *   else throw error
 * }
 */
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

/**
 * The task ran past its hard `timeLimit`.
 *
 * @example
 * const render = app.task('video.render', { timeLimit: 60_000 }, async (path: string) => path)
 * const r = await render.delay('intro.mp4')
 * await r.get().catch((error) => {
 *   if (error instanceof TimeLimitExceeded) console.warn('render took over a minute; it was stopped')
 * })
 */
export class TimeLimitExceeded extends CeleriacError {
  static {
    TimeLimitExceeded.prototype.name = 'TimeLimitExceeded'
  }
  constructor(message: string) {
    super('TIME_LIMIT_EXCEEDED', message)
  }
}

/**
 * The reason `self.signal` aborts with when the soft time limit passes; a task may catch it.
 *
 * @example
 * app.task('search.crawl', { bind: true, softTimeLimit: 30_000, timeLimit: 40_000 }, async (self, url: string) => {
 *   try {
 *     return await (await fetch(url, { signal: self.signal })).text()
 *   } catch (error) {
 *     if (self.signal.reason instanceof SoftTimeLimitExceeded) return '' // out of time: end cleanly
 *     throw error
 *   }
 * })
 */
export class SoftTimeLimitExceeded extends CeleriacError {
  static {
    SoftTimeLimitExceeded.prototype.name = 'SoftTimeLimitExceeded'
  }
  constructor(message: string) {
    super('SOFT_TIME_LIMIT_EXCEEDED', message)
  }
}

/**
 * A chord's header task failed or was revoked; the body did not run. `cause` is the original.
 *
 * @example
 * const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()
 * try {
 *   await r.get()
 * } catch (error) {
 *   if (error instanceof ChordError) console.error(`header task ${error.taskId} failed:`, error.cause)
 *   else throw error
 * }
 */
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
 * const polled = new Set<string>()
 * app.task('feeds.poll', (url: string) => {
 *   if (polled.has(url)) throw new Ignore() // no result, no event of success or failure
 *   polled.add(url)
 * })
 */
export class Ignore extends CeleriacError {
  static {
    Ignore.prototype.name = 'Ignore'
  }
  constructor(message = 'ignored') {
    super('IGNORE', message)
  }
}

/**
 * The process or worker running the task died before it finished.
 *
 * @example
 * // With the default early ack, a run whose worker died is not run again: it fails with this.
 * await r.get().catch(async (error) => {
 *   if (error instanceof WorkerLostError) await add.delay(2, 2) // send it again, or set acksLate
 * })
 */
export class WorkerLostError extends CeleriacError {
  static {
    WorkerLostError.prototype.name = 'WorkerLostError'
  }
  constructor(message: string) {
    super('WORKER_LOST', message)
  }
}
