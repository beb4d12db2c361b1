/** The app's configuration: its options and their defaults. */
import { systemClock } from '../time/clock.js'
import type { Clock } from '../time/clock.js'
import type { Storage } from '../../storage/types.js'
import type { Transport } from '../engine/transport.js'
import { TransportStorage } from '../engine/transport-storage.js'
import { inline } from '../executor/inline.js'
import type { Executor } from '../executor/types.js'
import { registerErrorClass } from '../model/error-registry.js'
import type { ErrorClass } from '../model/error-registry.js'
import { ConfigError } from '../model/errors.js'
import { DEFAULT_QUEUE, DEFAULT_RESULT_EXPIRES } from '../model/options.js'
import type { Network, QueueOptions, Route, TaskOptions } from '../model/options.js'
import { checkDuration, checkName, checkPriority } from '../model/validate.js'
import { memoryStorage } from '../../storage/memory.js'
import { checkTaskOptionKeys } from './define-task.js'
import { checkSchedule } from '../schedule/schedules.js'
import type { ScheduleEntry, ScheduleOptions, ScheduleTiming } from '../schedule/schedules.js'

/**
 * The app's configuration.
 *
 * @example
 * const app = new Celeriac({
 *   name: 'shop',
 *   storage: fileStorage({ dir: './.jobs' }),
 *   queues: { default: {}, emails: { concurrency: 2 } },
 *   routes: { 'mail.*': { queue: 'emails' } },
 *   taskDefaults: { acksLate: true },
 * })
 */
export interface Config {
  /** A name for logs and `request.hostname`. @default 'celeriac' */
  name?: string
  /** Where messages and results live. @default memoryStorage() */
  storage?: Storage
  /**
   * A broker that carries the app's messages across processes and machines (e.g.
   * `bullmqTransport({ connection })` from `celeriac/bullmq`), instead of `storage`: results and
   * the rest live in the transport's store. Exclusive with `storage`.
   */
  transport?: Transport
  /** Where tasks run. @default inline() */
  executor?: Executor
  /** Time source for every engine timer. @default systemClock() */
  clock?: Clock
  /** Declared queues with their concurrency. Sending to an undeclared queue is an error once any is declared. @default { default: {} } */
  queues?: Record<string, QueueOptions>
  /** Task name or glob (`'images.*'`) -> queue and priority. */
  routes?: Record<string, Route>
  /** How long results are kept, ms. @default 86_400_000 (one day) */
  resultExpires?: number
  /** Defaults for every task of this app. */
  taskDefaults?: TaskOptions
  /**
   * Consume tasks: `true`; `false` for a producer-only app; `'leader'` for apps that share
   * storage across tabs: every tab sends and reads results, one tab at a time (elected with
   * the Web Locks API, `navigator.locks`) consumes, and when it closes another takes over and
   * finishes the queued work. Tabs elect among apps of the same `name`.
   * @default true
   */
  consume?: boolean | 'leader'
  /**
   * Keep the process running from `start()` until `stop()`, as a server does, even with nothing
   * queued: a Node process with a consuming app does not exit when its main module ends.
   * `false` lets it exit once nothing is left to do (no task running or due, no worker busy),
   * as a script would. Needs a clock that can hold the host (the system clock can; the virtual
   * clock never holds). In a page it changes nothing.
   * @default true when the app consumes (`consume: true` or `'leader'`), false for a producer
   * @example
   * // a CLI that drains its queue and ends, without stop()
   * new Celeriac({ storage: fileStorage({ dir }), keepAlive: false })
   */
  keepAlive?: boolean
  /** Error classes that should arrive as themselves in results and across workers. */
  errors?: readonly ErrorClass[]
  /** Random source in [0, 1) for retry jitter; seed it in tests. @default Math.random */
  random?: () => number
  /**
   * Whether the network is up, for tasks with `requires: 'online'`.
   * @default the browser's `navigator.onLine` and its online/offline events; always up elsewhere
   */
  network?: Network
  /**
   * Periodic tasks by id, upserted at `start()` (as `app.schedules.upsert` does: a schedule
   * whose timing is unchanged keeps its place, so slots missed while the app was down are
   * caught up by its `missed` policy). Schedules stored earlier and not named here stay; remove
   * them with `app.schedules.remove(id)`.
   * @example
   * const app = new Celeriac({
   *   schedules: {
   *     nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', signature: signature('reports.nightly') },
   *     heartbeat: { every: 60_000, signature: signature('health.ping'), missed: 'skip' },
   *   },
   * })
   */
  schedules?: Record<string, ScheduleEntry>
}

/** The default network: the browser's when there is one, else always online. */
function defaultNetwork(): Network {
  const scope = globalThis as {
    navigator?: { onLine?: boolean }
    addEventListener?: (type: string, listener: () => void) => void
    removeEventListener?: (type: string, listener: () => void) => void
  }
  return {
    isOnline: () => scope.navigator?.onLine ?? true,
    subscribe(onChange) {
      if (scope.addEventListener === undefined) return () => undefined
      scope.addEventListener('online', onChange)
      scope.addEventListener('offline', onChange)
      return () => {
        scope.removeEventListener?.('online', onChange)
        scope.removeEventListener?.('offline', onChange)
      }
    },
  }
}

/** The config with its defaults applied, checked. */
export interface ResolvedConfig {
  name: string
  storage: Storage
  executor: Executor
  clock: Clock
  queues: Map<string, QueueOptions>
  declaredQueues: boolean
  /** Where a send no route or task names goes: the transport's `defaultQueue`, else `default`. */
  defaultQueue: string
  /** The transport says workers outside celeriac consume it: sends may name tasks and queues this app does not know. */
  foreignWorkers: boolean
  routes: Array<[RegExp, Route]>
  resultExpires: number
  taskDefaults: TaskOptions
  consume: boolean | 'leader'
  /** Undefined: whether the app consumes (see {@link keepsAlive}). */
  keepAlive: boolean | undefined
  random: () => number
  network: Network
  /** Checked schedules, by id, upserted at start. */
  schedules: Map<string, ScheduleEntry>
}

/** Checks `config` and applies it over `base` (or the defaults). */
export function resolveConfig(config: Config, base: ResolvedConfig | undefined): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('The app config must be an object')
  const defaultQueue = config.transport?.defaultQueue ?? base?.defaultQueue ?? DEFAULT_QUEUE
  const queues = new Map<string, QueueOptions>(base?.queues ?? [[defaultQueue, {}]])
  let declaredQueues = base?.declaredQueues ?? false
  if (config.queues !== undefined) {
    queues.clear()
    declaredQueues = true
    for (const [name, options] of Object.entries(config.queues)) {
      checkName(name, 'queue name')
      if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
        throw new ConfigError(`queues.${name}.concurrency must be a whole number >= 1, got ${String(options.concurrency)}`)
      }
      queues.set(name, { ...options })
    }
  }
  const routes: Array<[RegExp, Route]> = base?.routes ?? []
  if (config.routes !== undefined) {
    routes.length = 0
    for (const [pattern, route] of Object.entries(config.routes)) {
      if (route.priority !== undefined) checkPriority(route.priority, `routes['${pattern}']`)
      routes.push([globToRegExp(pattern), route])
    }
  }
  if (config.storage !== undefined && config.transport !== undefined) {
    throw new ConfigError(
      'An app has either a storage or a transport, not both: a transport keeps its results in its own store (give only `transport`, or only `storage` to run in one process)',
    )
  }
  if (config.resultExpires !== undefined) checkDuration(config.resultExpires, 'resultExpires')
  if (config.taskDefaults !== undefined) checkTaskOptionKeys(config.taskDefaults, 'taskDefaults')
  if (config.consume !== undefined && typeof config.consume !== 'boolean' && config.consume !== 'leader') {
    throw new ConfigError(`consume must be true, false or 'leader', got ${String(config.consume)}`)
  }
  if (config.keepAlive !== undefined && typeof config.keepAlive !== 'boolean')
    throw new ConfigError(`keepAlive must be true or false, got ${String(config.keepAlive)}`)
  for (const cls of config.errors ?? []) registerErrorClass(cls)
  const schedules = new Map(base?.schedules)
  if (config.schedules !== undefined) {
    if (config.schedules === null || typeof config.schedules !== 'object') throw new ConfigError('schedules must be an object of schedules by id')
    for (const [id, entry] of Object.entries(config.schedules)) {
      if (entry === null || typeof entry !== 'object') throw new ConfigError(`schedules['${id}'] must be { every | cron, signature, ...options }`)
      checkSchedule(id, ...scheduleArgs(entry), `schedules`)
      schedules.set(id, entry)
    }
  }
  if (config.random !== undefined && typeof config.random !== 'function') throw new ConfigError('random must be a function returning [0, 1)')
  return {
    name: config.name ?? base?.name ?? 'celeriac',
    storage: config.transport !== undefined ? new TransportStorage(config.transport) : (config.storage ?? base?.storage ?? memoryStorage()),
    executor: config.executor ?? base?.executor ?? inline(),
    clock: config.clock ?? base?.clock ?? systemClock(),
    queues,
    declaredQueues,
    defaultQueue,
    foreignWorkers: config.transport?.foreignWorkers ?? base?.foreignWorkers ?? false,
    routes,
    resultExpires: config.resultExpires ?? base?.resultExpires ?? DEFAULT_RESULT_EXPIRES,
    taskDefaults: withDefined(base?.taskDefaults ?? {}, config.taskDefaults ?? {}),
    consume: config.consume ?? base?.consume ?? true,
    keepAlive: config.keepAlive ?? base?.keepAlive,
    random: config.random ?? base?.random ?? Math.random,
    network: config.network ?? base?.network ?? defaultNetwork(),
    schedules,
  }
}

/** A config schedule as `upsert`'s timing, signature and options. */
export function scheduleArgs(entry: ScheduleEntry): [ScheduleTiming, ScheduleEntry['signature'], ScheduleOptions] {
  const { every, cron, tz, signature, ...options } = entry as ScheduleEntry & { every?: number; cron?: string; tz?: string }
  const timing = (every !== undefined ? { every } : tz === undefined ? { cron } : { cron, tz }) as ScheduleTiming
  return [timing, signature, options]
}

/** Whether a started app holds the process open: `keepAlive`, by default whether it consumes. */
export function keepsAlive(config: ResolvedConfig): boolean {
  return config.keepAlive ?? config.consume !== false
}

/** `base` with the options of `over` that are set: one given as `undefined` keeps the earlier default. */
function withDefined(base: TaskOptions, over: TaskOptions): TaskOptions {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) if (value !== undefined) out[key] = value
  return out as TaskOptions
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`)
}
