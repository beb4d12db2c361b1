/**
 * What the dashboard reads, as plain JSON: the control endpoint's answers (`src/serve/`) and
 * the same shapes built in the page from an app (`app-source.ts`). Read defensively: a field an
 * older endpoint lacks shows as `-`.
 */

/**
 * A queued, scheduled or running task, as `inspect` lists it.
 *
 * @example
 * const { active } = await source.inspect() // TaskInfoView[]
 */
export interface TaskInfoView {
  id: string
  name: string
  args: unknown[]
  queue: string
  priority: number
  eta: number | null
  expires: number | null
  retries: number
  parentId: string | null
  rootId: string | null
}

/**
 * A queue, as `inspect.queues()` lists it.
 *
 * @example
 * for (const q of (await source.inspect()).queues) console.log(q.name, q.paused, q.reserved)
 */
export interface QueueView {
  name: string
  paused: boolean
  pausedAt: number | null
  concurrency: number
  active: number
  reserved: number
  scheduled: number
}

/**
 * What the dashboard reads when it opens, and again on a slow timer.
 *
 * @example
 * const { active, reserved, scheduled, queues } = await httpSource('http://127.0.0.1:8555', token).inspect()
 */
export interface InspectSnapshot {
  active: TaskInfoView[]
  reserved: TaskInfoView[]
  scheduled: TaskInfoView[]
  queues: QueueView[]
}

/**
 * A task's stored result, `AsyncResult.status()` as JSON (an error is `{ name, message }`).
 *
 * @example
 * const { state, result, traceback } = await source.result(id)
 */
export interface ResultView {
  id: string
  task: string | null
  state: string
  result: unknown
  traceback: string | null
  dateDone: string | null
  retries: number
  parentId: string | null
  rootId: string | null
  groupId: string | null
  children: string[]
}

/**
 * One of the app's events (`app.events`), its payload as JSON.
 *
 * @example
 * const stop = source.subscribe((event) => console.log(event.type, event.data.id))
 */
export interface DashboardEvent {
  /** `task-sent`, `task-progress`, `queue-paused`, ... */
  type: string
  data: Record<string, unknown>
}
