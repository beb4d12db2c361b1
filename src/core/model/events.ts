/** The app's events, typed once (eventemitter3). Payloads are plain data, decoded. */
import type { MessageError } from './errors.js'
import type { State } from './states.js'

/**
 * Fields every task event has.
 *
 * @example
 * app.events.on('task-started', (e) => console.log(e.id, e.name, new Date(e.timestamp)))
 */
export interface TaskEventBase {
  /** Task id. */
  id: string
  /** Task name. */
  name: string
  /** Engine clock, epoch ms. */
  timestamp: number
  queue: string
  retries: number
  parentId: string | null
  rootId: string | null
}

/**
 * A task was stored to run: its arguments and when it is due.
 *
 * @example
 * app.events.on('task-sent', (e) => console.log(e.name, e.args, e.eta === null ? 'now' : new Date(e.eta)))
 */
export interface TaskSentEvent extends TaskEventBase {
  args: unknown[]
  eta: number | null
  expires: number | null
  priority: number
}
/**
 * A running task reported progress: its custom state and meta.
 *
 * @example
 * app.events.on('task-progress', (e) => console.log(e.id, e.state, e.meta))
 */
export interface TaskProgressEvent extends TaskEventBase {
  state: State
  meta: unknown
}
/**
 * A task returned: its result and how long it ran.
 *
 * @example
 * app.events.on('task-succeeded', (e) => console.log(e.name, e.result, `${e.runtime} ms`))
 */
export interface TaskSucceededEvent extends TaskEventBase {
  result: unknown
  /** ms from start to finish, engine clock. */
  runtime: number
}
/**
 * A task failed for good: its error.
 *
 * @example
 * app.events.on('task-failed', (e) => console.warn(e.name, e.error.message))
 */
export interface TaskFailedEvent extends TaskEventBase {
  error: Error
  runtime: number
}
/**
 * A task failed and will run again.
 *
 * @example
 * app.events.on('task-retried', (e) => console.warn(e.name, 'retrying after', e.error?.message))
 */
export interface TaskRetriedEvent extends TaskEventBase {
  error: Error | null
  /** When the next attempt is due, epoch ms. */
  eta: number
}
/**
 * A task was revoked, terminated or expired.
 *
 * @example
 * app.events.on('task-revoked', (e) => console.log(e.id, e.reason)) // 'revoked' | 'expired' | 'terminated'
 */
export interface TaskRevokedEvent extends TaskEventBase {
  reason: 'revoked' | 'expired' | 'terminated'
}
/**
 * A task threw `Reject`: requeued or dropped.
 *
 * @example
 * app.events.on('task-rejected', (e) => console.log(e.id, e.requeue ? 'requeued' : 'dropped'))
 */
export interface TaskRejectedEvent extends TaskEventBase {
  requeue: boolean
}
/**
 * A message taken from a broker's queue that is not a task message this app can run (Celery's
 * `task_rejected` signal): the transport dropped it, and serving went on. `error` says why, and
 * carries the task id and name when they could be read.
 *
 * @example
 * app.events.on('message-rejected', (e) => console.warn(e.error.reason, e.error.message))
 */
export interface MessageRejectedEvent {
  error: MessageError
  /** The queue it was taken from. */
  queue: string
  /** Engine clock, epoch ms. */
  timestamp: number
}
/**
 * A queue was paused or resumed (`app.control.pause` / `resume`, here or, on shared storage or a
 * transport, by another process of the app): emitted once per change this process sees.
 *
 * @example
 * app.events.on('queue-paused', ({ queue }) => console.log(`${queue} paused`))
 */
export interface QueuePauseEvent {
  queue: string
  /** Engine clock, epoch ms. */
  timestamp: number
}
/**
 * A line a task wrote through `self.log` (its {@link TaskLogger}).
 *
 * @example
 * app.events.on('log', (e) => console.log(`[${e.level}] ${e.id}: ${e.text}`))
 */
export interface LogEvent {
  /** The id of the task that wrote it. */
  id: string
  level: 'debug' | 'info' | 'warn' | 'error'
  text: string
}

/**
 * Every event of the app and its listener.
 *
 * @example
 * app.events.on('task-failed', (e) => console.warn(e.name, e.error))
 * app.events.on('task-progress', (e) => console.log(e.id, e.state, e.meta))
 */
export interface CeleriacEvents {
  /** A task was stored to run (sent, retried as a new message, or fired by a schedule). */
  'task-sent': (event: TaskSentEvent) => void
  /** A worker took the task (it is reserved here). */
  'task-received': (event: TaskEventBase) => void
  /** The task's function began. */
  'task-started': (event: TaskEventBase) => void
  /** The task reported progress (`self.progress`, `self.updateState`). */
  'task-progress': (event: TaskProgressEvent) => void
  /** The task returned; its result is stored. */
  'task-succeeded': (event: TaskSucceededEvent) => void
  /** The task failed for good (no retry left); its error is stored. */
  'task-failed': (event: TaskFailedEvent) => void
  /** The task failed and will run again (`self.retry`, `autoretryFor`). */
  'task-retried': (event: TaskRetriedEvent) => void
  /** The task was revoked (before it ran, or terminated while it ran) or expired. */
  'task-revoked': (event: TaskRevokedEvent) => void
  /** The task threw `Reject` (requeued or dropped). */
  'task-rejected': (event: TaskRejectedEvent) => void
  /** On a transport: a message that could not be read was dropped (see {@link MessageRejectedEvent}). */
  'message-rejected': (event: MessageRejectedEvent) => void
  /** A queue stopped dispatching: what is sent to it waits (see {@link QueuePauseEvent}). */
  'queue-paused': (event: QueuePauseEvent) => void
  /** A paused queue dispatches again, what waited first (see {@link QueuePauseEvent}). */
  'queue-resumed': (event: QueuePauseEvent) => void
  /** A task wrote a log line. */
  log: (event: LogEvent) => void
}

/** The name of an app event. */
export type CeleriacEventName = keyof CeleriacEvents

/**
 * Every event name, for code that forwards all of them (the endpoint's stream, the dashboard,
 * the remote channel). `satisfies` fails to compile when CeleriacEvents gains one not listed.
 */
export const EVENT_NAMES = Object.keys({
  'task-sent': true,
  'task-received': true,
  'task-started': true,
  'task-progress': true,
  'task-succeeded': true,
  'task-failed': true,
  'task-retried': true,
  'task-revoked': true,
  'task-rejected': true,
  'message-rejected': true,
  'queue-paused': true,
  'queue-resumed': true,
  log: true,
} satisfies Record<CeleriacEventName, true>) as readonly CeleriacEventName[]
