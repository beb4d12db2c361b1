/**
 * Every option of a task and of a send, typed and defaulted here, in one place (the app's own
 * are in `app/config.ts`).
 * Durations are milliseconds everywhere (Celery uses seconds).
 */
import type { ErrorClass } from './error-registry.js'

/**
 * A rate: `'10/s'`, `'100/m'`, `'1/h'`, or a number of executions per second.
 *
 * @example
 * app.task('web.fetch', { rateLimit: '10/s' }, fetchPage) // or '100/m', '1000/h', or a number a second
 */
export type Rate = `${number}/${'s' | 'm' | 'h'}` | number

/**
 * Which errors a task retries by itself: error classes, or a predicate.
 *
 * @example
 * app.task('web.fetch', { autoretryFor: [TypeError] }, fetchPage)
 * app.task('web.post', { autoretryFor: (e) => e instanceof Error && e.message.includes('503') }, async (url: string) => (await fetch(url, { method: 'POST' })).status)
 */
export type ErrorMatcher = readonly ErrorClass[] | ((error: unknown) => boolean)

/**
 * Per-queue settings.
 *
 * @example
 * const app = new Celeriac({ queues: { default: {}, images: { concurrency: 2 } } })
 */
export interface QueueOptions {
  /**
   * How many tasks of this queue run at once.
   * @default 16 (inline), the pool size (worker executors)
   */
  concurrency?: number
}

/**
 * Where a task goes unless the send says otherwise.
 *
 * @example
 * const app = new Celeriac({
 *   queues: { default: {}, images: {} },
 *   routes: { 'images.*': { queue: 'images', priority: 5 } },
 * })
 */
export interface Route {
  queue?: string
  priority?: number
}

/**
 * Options every task can set, at `app.task(name, options, fn)`, in `taskDefaults`, or as base-class
 * fields. The one list of their names and types: `ResolvedTaskOptions`, `TaskProfile`, the
 * option fields of `Task` and the keys of `TASK_DEFAULTS` follow from it.
 *
 * @example
 * const fetchPage = app.task(
 *   'web.fetch',
 *   { bind: true, maxRetries: 5, retryBackoff: true, autoretryFor: [TypeError], rateLimit: '10/s', timeLimit: 30_000 },
 *   async (self, url: string) => (await fetch(url, { signal: self.signal })).text(),
 * )
 */
export interface TaskOptions {
  /** Pass the bound context `self` as the first argument. @default false */
  bind?: boolean
  /** Queue to send to. @default 'default' (or what `routes` says) */
  queue?: string
  /** Priority 0–9, higher runs first. @default 0 */
  priority?: number
  /** Retries before giving up; `null` retries forever. @default 3 */
  maxRetries?: number | null
  /** Delay before a retry when `self.retry()` names none, ms. @default 180_000 */
  defaultRetryDelay?: number
  /** Errors the task retries by itself (Celery's `autoretry_for`). */
  autoretryFor?: ErrorMatcher
  /** Errors never retried by `autoretryFor`. */
  dontAutoretryFor?: ErrorMatcher
  /** Exponential backoff for autoretry: `true` (base 1000 ms) or a base in ms. @default false */
  retryBackoff?: boolean | number
  /** Cap of the backoff delay, ms. @default 600_000 */
  retryBackoffMax?: number
  /** Full jitter: draw the delay uniformly from [0, delay]. @default true */
  retryJitter?: boolean
  /** Rate limit per engine for this task name. */
  rateLimit?: Rate | null
  /** Hard time limit, ms: the task ends as FAILURE `TimeLimitExceeded`. */
  timeLimit?: number | null
  /** Soft time limit, ms: `self.signal` aborts with `SoftTimeLimitExceeded`. */
  softTimeLimit?: number | null
  /** Default expiry of a send, ms after sending. */
  expires?: number | null
  /** Acknowledge after the result is stored (runs again after a crash). @default false */
  acksLate?: boolean
  /** With acksLate: re-queue the task when its worker dies instead of failing it. @default false */
  rejectOnWorkerLost?: boolean
  /** Store no result. @default false */
  ignoreResult?: boolean
  /** Record STARTED when the task starts. @default true (Celery: false; it costs nothing here) */
  trackStarted?: boolean
  /**
   * Hold a lock while the task runs (the seed's deduplicated task, declared): the key comes from
   * the arguments; when someone holds it the run is skipped (result null) or retried.
   * @example
   * app.task('sync.pull', { lock: { key: (resourceId: string) => `resource:${resourceId}`, ttl: 600_000 } }, async (resourceId: string) => resourceId)
   */
  lock?: TaskLockOption | null
  /**
   * `'online'`: the task starts only while the app's network is up (in a browser,
   * `navigator.onLine`); sent while offline, it waits and runs when the connection is back.
   * The seed's offline-jobs case. @default null
   */
  requires?: 'online' | null
}

/**
 * The `lock` task option.
 *
 * @example
 * app.task('reports.build', { lock: { key: (month: string) => `report:${month}`, ttl: 600_000 } }, async (month: string) => `report of ${month}`)
 */
export interface TaskLockOption {
  /** The lock key for a call's arguments. */
  key: (...args: never[]) => string
  /** How long the lock is held at most, ms. */
  ttl: number
  /** What to do when it is held: skip the run (result null) or retry later. @default 'skip' */
  onLocked?: 'skip' | 'retry'
}

/**
 * Options of a send (`applyAsync`, `signature.set`).
 *
 * @example
 * await add.applyAsync([2, 2], { countdown: 60_000, priority: 9, queue: 'math', taskId: 'add-2-2' })
 * const sig = add.s(2, 2).set({ expires: 3_600_000 })
 */
export interface SendOptions {
  /** Run no earlier than this many ms from now. */
  countdown?: number
  /** Run no earlier than this time (Date or epoch ms). */
  eta?: Date | number
  /** Never run after this: ms from now, or a Date. A task not started by then is REVOKED (expired). */
  expires?: number | Date
  queue?: string
  /** 0–9, higher runs first. */
  priority?: number
  /** Custom headers, visible as `self.request.headers` and carried down a chain. */
  headers?: Record<string, unknown>
  /** The task id; sending an id that is already known returns that task's result and queues nothing. */
  taskId?: string
  /** Run after success, with the result prepended (unless immutable). */
  link?: LinkTarget | readonly LinkTarget[]
  /** Run after failure, with the failed task's id prepended. */
  linkError?: LinkTarget | readonly LinkTarget[]
  ignoreResult?: boolean
  timeLimit?: number
  softTimeLimit?: number
}

/**
 * The send options whose JSON form (a signature's `toJSON`) is the value as given; the others are
 * converted on the way (times made absolute, headers encoded, links as JSON).
 */
export const PLAIN_SEND_OPTIONS = ['countdown', 'queue', 'priority', 'taskId', 'ignoreResult', 'timeLimit', 'softTimeLimit'] as const satisfies ReadonlyArray<
  keyof SendOptions
>

/** The name of a send option stored as given. */
export type PlainSendOption = (typeof PLAIN_SEND_OPTIONS)[number]

/** Something that can be linked: a signature (any canvas). */
export interface LinkTarget {
  toJSON(): unknown
}

/**
 * The network state the engine watches for `requires: 'online'` tasks.
 *
 * @example
 * // Node has no network state of its own: say when the app should consider itself offline.
 * const monitor = new EventTarget() // dispatches 'change' when your own check sees the link go or come back
 * let connected = true
 * const network: Network = {
 *   isOnline: () => connected,
 *   subscribe: (onChange) => {
 *     monitor.addEventListener('change', onChange)
 *     return () => monitor.removeEventListener('change', onChange)
 *   },
 * }
 * const app = new Celeriac({ network })
 */
export interface Network {
  /** Whether the network is up now. */
  isOnline(): boolean
  /** Calls `onChange` when the state changes; returns the unsubscribe function. */
  subscribe(onChange: () => void): () => void
}

/** The task options with no default: unset, the send and the routes decide (or, for the matchers, nothing retries). */
type UnsetByDefault = 'queue' | 'priority' | 'autoretryFor' | 'dontAutoretryFor'

/**
 * The task options with their defaults applied: each one set (to `undefined` for those with no
 * default). {@link TaskOptions} is the one list of names and types; this and the others follow
 * from it.
 */
export type ResolvedTaskOptions = Required<Omit<TaskOptions, UnsetByDefault>> & { [K in UnsetByDefault]: TaskOptions[K] }

/**
 * The options the engine needs of a task to send and schedule it, as plain data: a registered
 * Task has these fields, and a worker reports them for the tasks its module registered.
 */
const PROFILE_OPTIONS = [
  'queue',
  'priority',
  'expires',
  'ignoreResult',
  'acksLate',
  'rejectOnWorkerLost',
  'trackStarted',
  'timeLimit',
  'softTimeLimit',
  'rateLimit',
  'requires',
] as const satisfies ReadonlyArray<keyof TaskOptions>

/** What the engine needs to know of a task (see {@link PROFILE_OPTIONS}). */
export type TaskProfile = Pick<ResolvedTaskOptions, (typeof PROFILE_OPTIONS)[number]>

/** @internal The profile of a task as data (what crosses from a worker). */
export function profileOf(task: TaskProfile): TaskProfile {
  const profile: Partial<Record<keyof TaskProfile, unknown>> = {}
  for (let i = 0; i < PROFILE_OPTIONS.length; i++) profile[PROFILE_OPTIONS[i]!] = task[PROFILE_OPTIONS[i]!]
  return profile as TaskProfile
}

/** Every default, in one place; its keys are the option names at run time. */
export const TASK_DEFAULTS: ResolvedTaskOptions = {
  bind: false,
  queue: undefined,
  priority: undefined,
  maxRetries: 3,
  defaultRetryDelay: 180_000,
  autoretryFor: undefined,
  dontAutoretryFor: undefined,
  retryBackoff: false,
  retryBackoffMax: 600_000,
  retryJitter: true,
  rateLimit: null,
  timeLimit: null,
  softTimeLimit: null,
  expires: null,
  acksLate: false,
  rejectOnWorkerLost: false,
  ignoreResult: false,
  trackStarted: true,
  lock: null,
  requires: null,
}

/** The names of the task options. */
export const TASK_OPTION_KEYS = Object.keys(TASK_DEFAULTS) as Array<keyof ResolvedTaskOptions>

export const DEFAULT_QUEUE = 'default'
export const DEFAULT_CONCURRENCY = 16
export const DEFAULT_RESULT_EXPIRES = 86_400_000
