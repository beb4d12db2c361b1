import type { Celeriac } from '../core/app/app.js'
import type { TaskEventBase, TaskSentEvent } from '../core/model/events.js'
import { FAILURE, PENDING, RECEIVED, RETRY, REVOKED, STARTED, SUCCESS } from '../core/model/states.js'
import type { State } from '../core/model/states.js'

/**
 * A task the recorder saw sent, with the states it went through.
 *
 * @example
 * const task = await recorder(app).waitFor('mail.welcome', 'SUCCESS')
 * task.args   // ['ada@example.com']
 * task.states // ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS']
 */
export interface RecordedTask {
  id: string
  name: string
  args: unknown[]
  /** Every state in the order the events reported them. */
  states: State[]
  sent: TaskSentEvent
}

/**
 * Which tasks `waitFor` watches: a task name, a task id, or a predicate.
 *
 * @example
 * await sent.waitFor('mail.welcome', 'SUCCESS')                           // a name
 * await sent.waitFor(r.id, 'FAILURE')                                       // an id
 * await sent.waitFor((t) => t.args[0] === 'ada@example.com', 'SUCCESS')     // a predicate
 */
export type TaskSelector = string | ((task: RecordedTask) => boolean)

/**
 * Records every task an app sends and the states it goes through.
 *
 * @example
 * const sent = recorder(app)
 * await signup.delay('ada@example.com')
 * await sent.waitFor('mail.welcome', 'SUCCESS')
 * sent.sent('mail.welcome').length // 1
 */
export interface Recorder {
  /** Every task sent, in order. */
  readonly tasks: readonly RecordedTask[]
  /** Tasks sent with a name. */
  sent(name: string): RecordedTask[]
  /** Resolves with the first matching task that reaches `state` (at once if one has). */
  waitFor(selector: TaskSelector, state: State): Promise<RecordedTask>
  /** Forgets what was recorded so far; recording goes on. */
  clear(): void
  /** Stops recording. */
  stop(): void
}

/**
 * Records the messages an app sends, for assertions in tests.
 *
 * @example
 * import { expect } from 'vitest'
 * const sent = recorder(app)
 * await signup.delay('ada@example.com')
 * const welcome = await sent.waitFor('mail.welcome', 'SUCCESS')
 * expect(welcome.args).toEqual(['ada@example.com'])
 */
export function recorder(app: Celeriac): Recorder {
  const tasks: RecordedTask[] = []
  const byId = new Map<string, RecordedTask>()
  const waiters = new Set<{ selector: TaskSelector; state: State; resolve: (task: RecordedTask) => void }>()

  const matches = (selector: TaskSelector, task: RecordedTask): boolean =>
    typeof selector === 'function' ? selector(task) : selector === task.name || selector === task.id

  const note = (event: TaskEventBase, state: State): void => {
    const task = byId.get(event.id)
    if (task === undefined) return
    task.states.push(state)
    for (const waiter of [...waiters]) {
      if (waiter.state === state && matches(waiter.selector, task)) {
        waiters.delete(waiter)
        waiter.resolve(task)
      }
    }
  }

  const onSent = (event: TaskSentEvent): void => {
    let task = byId.get(event.id)
    if (task === undefined) {
      task = { id: event.id, name: event.name, args: event.args, states: [], sent: event }
      byId.set(event.id, task)
      tasks.push(task)
    }
    note(event, PENDING)
  }
  const listeners = {
    'task-sent': onSent,
    'task-received': (e: TaskEventBase) => note(e, RECEIVED),
    'task-started': (e: TaskEventBase) => note(e, STARTED),
    'task-progress': (e: TaskEventBase & { state: State }) => note(e, e.state),
    'task-succeeded': (e: TaskEventBase) => note(e, SUCCESS),
    'task-failed': (e: TaskEventBase) => note(e, FAILURE),
    'task-retried': (e: TaskEventBase) => note(e, RETRY),
    'task-revoked': (e: TaskEventBase) => note(e, REVOKED),
    // What is stored: a dropped message is FAILURE (the Reject error), a requeued one waits again.
    'task-rejected': (e: TaskEventBase & { requeue: boolean }) => note(e, e.requeue ? PENDING : FAILURE),
  } as const
  for (const [name, fn] of Object.entries(listeners)) app.events.on(name as 'task-sent', fn as (e: TaskSentEvent) => void)

  return {
    tasks,
    sent: (name) => tasks.filter((t) => t.name === name),
    waitFor(selector, state) {
      for (const task of tasks) if (matches(selector, task) && task.states.includes(state)) return Promise.resolve(task)
      return new Promise((resolve) => waiters.add({ selector, state, resolve }))
    },
    clear() {
      tasks.length = 0
      byId.clear()
    },
    stop() {
      for (const [name, fn] of Object.entries(listeners)) app.events.off(name as 'task-sent', fn as (e: TaskSentEvent) => void)
    },
  }
}
