/**
 * Typed errors. Every error celeriac raises is a {@link CeleriacError} with a stable `code`:
 * compare codes or classes, never messages. Errors cross every boundary (storage, workers) as
 * data; `registerErrorClass` (error-registry.ts) lets a custom class arrive as itself.
 */

export interface CeleriacErrorOptions {
  cause?: unknown
}

/** The `code` of each error class below, one each; stable across versions. */
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

/** A task name that no app (or worker) has registered. */
export class NotRegistered extends CeleriacError {
  static {
    NotRegistered.prototype.name = 'NotRegistered'
  }
  constructor(message: string) {
    super('NOT_REGISTERED', message)
  }
}

/** A value that cannot cross a boundary as data; `path` names where it is (`args[0].user`). */
export class SerializationError extends CeleriacError {
  static {
    SerializationError.prototype.name = 'SerializationError'
  }
  readonly path: string
  constructor(message: string, path = '', options?: CeleriacErrorOptions) {
    super('SERIALIZATION', message, options)
    this.path = path
  }
}

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

/**
 * A worker pool could not load its task module again: a queued task fails with it when no worker
 * loaded within the pool's `loadTimeout` (`app.start()` reports a module that never loads with a
 * `ConfigError`). `module` names the module; `cause` is the last load's error (the module threw,
 * registered no tasks, or its worker exited).
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

/** Where a {@link StorageError} happened, when it concerns a file. */
export interface StorageErrorOptions extends CeleriacErrorOptions {
  /** The file or directory concerned. */
  path?: string
  /** The byte offset in `path` where damage starts. */
  offset?: number
}

/**
 * A storage adapter failed, or found its data damaged. `path` (and `offset` for damage) say
 * where, when it concerns a file; the message says what to do.
 *
 * @example
 * try {
 *   await app.start()
 * } catch (error) {
 *   if (error instanceof StorageError && error.path !== undefined) console.error(`look at ${error.path}`)
 *   throw error
 * }
 */
export class StorageError extends CeleriacError {
  static {
    StorageError.prototype.name = 'StorageError'
  }
  /** The file or directory concerned, if any. */
  readonly path?: string
  /** The byte offset in `path` where damage starts, if any. */
  readonly offset?: number
  constructor(message: string, options?: StorageErrorOptions) {
    super('STORAGE', message, options)
    if (options?.path !== undefined) this.path = options.path
    if (options?.offset !== undefined) this.offset = options.offset
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

/** What was wrong with a {@link MessageError}'s message (see its `reason`). */
export type MessageErrorReason =
  /** Not the broker's envelope: not JSON, or no headers / properties where they belong. */
  | 'envelope'
  /** No task name (Celery's protocol 1, or not a task message at all). */
  | 'task-name'
  /** No task id. */
  | 'task-id'
  /** A content type other than JSON (pickle, yaml, none): never deserialized. */
  | 'content-type'
  /** A body that does not decode, or is not `[args, kwargs, embed]`. */
  | 'body'
  /** Positional arguments that are not a list, or keyword arguments that are not an object. */
  | 'arguments'
  /** An eta or expires that is not a time. */
  | 'time'

/** Where a {@link MessageError}'s message was, and what could be read of it. */
export interface MessageErrorOptions extends CeleriacErrorOptions {
  /** The queue it was taken from. */
  queue: string
  /** Its task id, when readable. */
  taskId?: string | null
  /** Its task name, when readable. */
  taskName?: string | null
}

/**
 * A message taken from a broker's queue that is not a task message this app can run: a transport
 * drops it (a Celery worker rejects it the same way) and the app emits `'message-rejected'` with
 * this error; serving goes on. `reason` says what was wrong; `taskId` and `taskName` are set when
 * they could be read (a FAILURE may then be stored under the id, where Celery stores one).
 *
 * @example
 * app.events.on('message-rejected', ({ error }) => {
 *   console.warn(`dropped a message on ${error.queue} (${error.reason}): ${error.message}`)
 * })
 */
export class MessageError extends CeleriacError {
  static {
    MessageError.prototype.name = 'MessageError'
  }
  readonly reason: MessageErrorReason
  /** The queue the message was taken from. */
  readonly queue: string
  /** Its task id, or null when it could not be read. */
  readonly taskId: string | null
  /** Its task name, or null when it could not be read. */
  readonly taskName: string | null
  constructor(message: string, reason: MessageErrorReason, options?: MessageErrorOptions) {
    super('BAD_MESSAGE', message, options)
    this.reason = reason
    this.queue = options?.queue ?? ''
    this.taskId = options?.taskId ?? null
    this.taskName = options?.taskName ?? null
  }
}

/**
 * The channel of a remote app (`celeriac/remote`) closed: its port closed, the other side went
 * away, or `close()` was called. Every call still waiting for an answer rejects with it, and so
 * does every later call; make a new `remoteApp(port)` on a new port to go on.
 *
 * @example
 * try {
 *   await handle.get()
 * } catch (error) {
 *   if (error instanceof ChannelClosedError) showOffline() // the main process went away
 *   else throw error
 * }
 */
export class ChannelClosedError extends CeleriacError {
  static {
    ChannelClosedError.prototype.name = 'ChannelClosedError'
  }
  constructor(message: string) {
    super('CHANNEL_CLOSED', message)
  }
}
