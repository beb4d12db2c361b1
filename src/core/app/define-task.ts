/** Making a task: its options resolved (given, base class, app defaults, defaults) and checked. */
import { registerErrorClass } from '../model/error-registry.js'
import type { ErrorClass } from '../model/error-registry.js'
import { ConfigError } from '../model/errors.js'
import { TASK_DEFAULTS, TASK_OPTION_KEYS } from '../model/options.js'
import type { ErrorMatcher, ResolvedTaskOptions, TaskOptions } from '../model/options.js'
import { checkBoolean, checkDuration, checkName, checkOptionKeys, checkPriority, parseRate } from '../model/validate.js'
import { Task } from '../task/task.js'
import type { TaskOwner } from '../task/task.js'

/**
 * Options of `app.task` with a base class.
 *
 * @example
 * class Audited extends Task {
 *   override onSuccess(retval: unknown, taskId: string) { console.log(`${this.name}[${taskId}] ok`) }
 * }
 * const defaults: TaskOptionsWithBase<Audited> = { base: Audited, maxRetries: 2 }
 * const archive = app.task('files.archive', { ...defaults, bind: true }, (self, path: string) => `${self.name}: ${path}`)
 */
export type TaskOptionsWithBase<B> = TaskOptions & { base?: new () => B }

type AnyTask = Task<never, unknown>

/** A task named `name` running `fn`, owned by `owner`. Throws ConfigError on bad options. */
export function createTask(name: string, options: TaskOptionsWithBase<AnyTask>, fn: unknown, owner: TaskOwner, defaults: TaskOptions): AnyTask {
  checkName(name, 'app.task(name): the task name')
  if (typeof fn !== 'function') throw new ConfigError(`app.task('${name}'): the last argument must be the task function`)
  checkTaskOptionKeys(options, `app.task('${name}')`)
  const Base = options.base ?? Task
  if (typeof Base !== 'function' || !(Base.prototype instanceof Task || Base === Task)) {
    throw new ConfigError(`app.task('${name}'): base must be a subclass of Task`)
  }
  const task = new Base() as AnyTask
  const fields = task as unknown as Record<string, unknown>
  const given = options as Record<string, unknown>
  const resolved: Record<string, unknown> = {}
  for (const key of TASK_OPTION_KEYS) {
    const own = given[key]
    // The lock option lives as `lockOption`: `lock` is the method self.lock().
    const fromClass = key === 'lock' ? fields.lockOption : fields[key]
    const fromDefaults = (defaults as Record<string, unknown>)[key]
    resolved[key] = own !== undefined ? own : fromClass !== undefined ? fromClass : fromDefaults !== undefined ? fromDefaults : TASK_DEFAULTS[key]
  }
  validateTaskOptions(name, resolved as unknown as ResolvedTaskOptions)
  const { lock, ...rest } = resolved
  Object.assign(task, rest)
  task.lockOption = lock as ResolvedTaskOptions['lock']
  task.name = name
  task.app = owner
  task.fn = fn as AnyTask['fn']
  return task
}

/** The names `app.task` and `taskDefaults` accept: the task options, and `base`. */
const TASK_OPTION_NAMES: ReadonlyArray<keyof TaskOptionsWithBase<AnyTask>> = [...TASK_OPTION_KEYS, 'base']

/** Throws ConfigError for options that are not an object or name an option no task has (a typo, a Celery snake_case name). */
export function checkTaskOptionKeys(options: unknown, where: string): void {
  checkOptionKeys<TaskOptionsWithBase<AnyTask>>(options, TASK_OPTION_NAMES, where)
}

const BOOLEAN_OPTIONS = ['bind', 'retryJitter', 'acksLate', 'rejectOnWorkerLost', 'ignoreResult', 'trackStarted'] as const

function validateTaskOptions(name: string, o: ResolvedTaskOptions): void {
  const where = `app.task('${name}')`
  for (const key of BOOLEAN_OPTIONS) checkBoolean(o[key], `${where}: ${key}`)
  if (typeof o.retryBackoff !== 'boolean' && typeof o.retryBackoff !== 'number') {
    throw new ConfigError(`${where}: retryBackoff must be true, false or a base delay in ms, got ${String(o.retryBackoff)}`)
  }
  if (o.queue !== undefined) checkName(o.queue, `${where}: queue`)
  if (o.priority !== undefined) checkPriority(o.priority, where)
  if (o.requires !== null && o.requires !== 'online') throw new ConfigError(`${where}: requires must be 'online' or null, got ${String(o.requires)}`)
  if (o.maxRetries !== null && (!Number.isInteger(o.maxRetries) || o.maxRetries < 0)) {
    throw new ConfigError(`${where}: maxRetries must be a whole number >= 0, or null to retry forever`)
  }
  checkDuration(o.defaultRetryDelay, `${where}: defaultRetryDelay`)
  checkDuration(o.retryBackoffMax, `${where}: retryBackoffMax`)
  if (typeof o.retryBackoff === 'number') checkDuration(o.retryBackoff, `${where}: retryBackoff`)
  parseRate(o.rateLimit, where)
  if (o.timeLimit !== null) checkDuration(o.timeLimit, `${where}: timeLimit`, true)
  if (o.softTimeLimit !== null) checkDuration(o.softTimeLimit, `${where}: softTimeLimit`, true)
  if (o.timeLimit !== null && o.softTimeLimit !== null && o.softTimeLimit > o.timeLimit) {
    throw new ConfigError(`${where}: softTimeLimit (${String(o.softTimeLimit)} ms) must not exceed timeLimit (${String(o.timeLimit)} ms)`)
  }
  if (o.expires !== null) checkDuration(o.expires, `${where}: expires`)
  if (o.lock !== null) {
    if (typeof o.lock !== 'object' || typeof o.lock.key !== 'function') {
      throw new ConfigError(`${where}: lock must be { key: (...args) => string, ttl: ms, onLocked?: 'skip' | 'retry' }`)
    }
    checkDuration(o.lock.ttl, `${where}: lock.ttl`, true)
    if (o.lock.onLocked !== undefined && o.lock.onLocked !== 'skip' && o.lock.onLocked !== 'retry') {
      throw new ConfigError(`${where}: lock.onLocked must be 'skip' or 'retry'`)
    }
  }
  for (const key of ['autoretryFor', 'dontAutoretryFor'] as const) {
    const matcher: ErrorMatcher | undefined = o[key]
    if (matcher === undefined) continue
    if (Array.isArray(matcher)) {
      for (const cls of matcher as readonly ErrorClass[]) {
        if (typeof cls !== 'function') throw new ConfigError(`${where}: ${key} must list error classes`)
        registerErrorClass(cls)
      }
    } else if (typeof matcher !== 'function' || (matcher as { prototype?: unknown }).prototype instanceof Error) {
      throw new ConfigError(`${where}: ${key} must be an array of error classes (e.g. [NetworkError]) or a predicate (error) => boolean`)
    }
  }
}
