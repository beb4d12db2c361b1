/**
 * Errors at the boundaries data crosses: a value that cannot be data, a storage that fails or is
 * damaged, a broker message that is not a task message, a remote app's channel that closed.
 */
import { CeleriacError, type CeleriacErrorOptions } from './error-base.js'

/**
 * A value that cannot cross a boundary as data; `path` names where it is (`args[0].user`).
 *
 * @example
 * const greet = app.task('mail.greet', (user: { name: string; save?: () => void }) => user.name)
 * try {
 *   await greet.delay({ name: 'Ada', save: () => {} }) // a function is not data
 * } catch (error) {
 *   if (error instanceof SerializationError) console.error(error.path) // args[0].save
 *   else throw error
 * }
 */
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
 * Where a {@link StorageError} happened, when it concerns a file.
 *
 * @example
 * // In a storage adapter of your own:
 * throw new StorageError('the journal is damaged: open with repair: true', { path: '/var/jobs/journal-3', offset: 4096 })
 */
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
 * What was wrong with a {@link MessageError}'s message (see its `reason`).
 *
 * @example
 * app.events.on('message-rejected', ({ error }) => {
 *   const reason: MessageErrorReason = error.reason
 *   if (reason === 'content-type') console.warn(`a producer on ${error.queue} sends pickle: switch it to JSON`)
 * })
 */
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

/**
 * Where a {@link MessageError}'s message was, and what could be read of it.
 *
 * @example
 * // In a transport of your own, for a message whose body does not decode:
 * const error = new MessageError('the body is not [args, kwargs, embed]', 'body', { queue: 'celery', taskId: 'a1', taskName: 'tasks.add' })
 */
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
 *   await (await remote.sendTask('math.add', [2, 2])).get()
 * } catch (error) {
 *   if (error instanceof ChannelClosedError) document.body.classList.add('offline') // the main process went away
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
