/**
 * Task: the base class of every task (Celery's `Task`). `app.task(name, fn)` makes an instance;
 * `base: MyTask` makes it an instance of a subclass, whose fields are option defaults and whose
 * hooks run where the task runs, in Celery's order.
 */
import { ConfigError, MaxRetriesExceededError, Retry } from '../model/errors.js'
import type { RetryRequest } from '../model/errors.js'
import { DEFAULT_QUEUE } from '../model/options.js'
import type { ResolvedTaskOptions, SendOptions } from '../model/options.js'
import type { AsyncResult, EagerResult, GroupResult, ResultSource } from '../result/result.js'
import { Signature } from '../canvas/signature.js'
import { chunks } from '../canvas/compose.js'
import type { ArgSuffix, MissingArgs } from '../canvas/arg-tuples.js'
import type { State } from '../model/states.js'
import type { ChordRef } from '../model/message.js'
import type { Lock } from './lock.js'
import { checkArgs, checkCount, checkDuration, checkName, checkOptionKeys, checkPlainObject, checkTime } from '../model/validate.js'

/**
 * Where the task's message came from.
 *
 * @example
 * app.task('mail.send', { bind: true, acksLate: true }, (self, to: string) => {
 *   const { queue, priority, redelivered } = self.request.deliveryInfo
 *   if (redelivered) console.warn(`${to}: delivered again (from ${queue}, priority ${String(priority)}); sent before?`)
 * })
 */
export interface DeliveryInfo {
  queue: string
  priority: number
  redelivered: boolean
}

/**
 * The context of one run, `self.request` (Celery's `Task.request`).
 *
 * @example
 * app.task('images.resize', { bind: true, maxRetries: 3 }, (self, path: string) => {
 *   const { id, retries, parentId, groupIndex } = self.request
 *   console.log(`${id}: resizing ${path}, attempt ${String(retries + 1)}, child of ${parentId ?? 'nobody'}, member ${String(groupIndex)}`)
 * })
 */
export interface Request {
  id: string
  task: string
  args: unknown[]
  retries: number
  /** Epoch ms the run was due, or null. */
  eta: number | null
  /** Epoch ms after which it would not have run, or null. */
  expires: number | null
  hostname: string
  deliveryInfo: DeliveryInfo
  calledDirectly: boolean
  isEager: boolean
  parentId: string | null
  rootId: string | null
  groupId: string | null
  groupIndex: number | null
  chord: ChordRef | null
  headers: Record<string, unknown>
}

export type { Lock }

/**
 * Logging from a task; lines go to the app's `log` event and carry the task id.
 *
 * @example
 * app.task('feeds.poll', { bind: true }, async (self, url: string) => { self.log.info(`polling ${url}`) })
 */
export interface TaskLogger {
  /** A `debug` line. */
  debug(text: string): void
  /** An `info` line. */
  info(text: string): void
  /** A `warn` line. */
  warn(text: string): void
  /** An `error` line. */
  error(text: string): void
}

/** What a running task can ask of the engine. Implemented by the runtime that runs it. @internal */
export interface RunContext {
  updateState(state: State, meta: unknown): void
  sleep(ms: number): Promise<void>
  lock(key: string, ttl: number, wait: number | null): Promise<Lock | null>
  send(signature: Signature<unknown[], unknown, unknown>, args: readonly unknown[], options: SendOptions): Promise<unknown>
  /** Where the run's result handles read and wait (a wait there parks the run). */
  results(): ResultSource
  log(level: 'debug' | 'info' | 'warn' | 'error', text: string): void
}

/** @internal Own properties of the per-call `self`. */
export const RUN = Symbol('celeriac.run')
/** @internal Where a `self` keeps its request (read by `request`). */
const REQUEST = Symbol('celeriac.request')
/** @internal Where the bound `self` of a running task keeps its abort (read by `signal`). */
export const ABORT = Symbol('celeriac.abort')
const NEVER_ABORTED: AbortSignal = new AbortController().signal

/** The app a task belongs to, as the task sees it. @internal */
export interface TaskOwner {
  readonly name: string
  sendSignature(signature: Signature<unknown[], unknown, unknown>, args: readonly unknown[], options: SendOptions): Promise<unknown>
  /** `fresh`: `args` is an array no one else holds (see encodeFresh). */
  sendCall(name: string, args: readonly unknown[], options: SendOptions, fresh?: boolean): Promise<unknown>
  applyEager(task: Task<never, unknown>, args: readonly unknown[], options: SendOptions): Promise<EagerResult<unknown>>
  AsyncResult<T>(id: string): AsyncResult<T>
  /** Where its result handles read. */
  results(): ResultSource
}

const noop = (): void => {}
/** The options of a send that gives none (`delay`), shared. */
const NO_OPTIONS: SendOptions = Object.freeze({})

/**
 * The task options as fields of a task, typed from `TaskOptions` (the one list of them):
 * declared, not initialized, so a subclass's fields are defaults; app.task sets every one. The
 * `lock` option is `lockOption`, named apart from the `lock()` method (set it so in a base class).
 */
type TaskOptionFields = Omit<ResolvedTaskOptions, 'lock'> & { lockOption: ResolvedTaskOptions['lock'] }

/** Gives Task the option fields as types only: at run time an empty class. */
const OptionFields = class {} as new () => TaskOptionFields

/**
 * The base class of tasks. Subclass it to share behaviour (hooks, helpers, option defaults) and
 * pass the subclass as `base`:
 *
 * @example
 * class LoggedTask extends Task {
 *   maxRetries = 5
 *   override onFailure(exc: unknown, taskId: string) { console.error(`${this.name}[${taskId}]`, exc) }
 * }
 * const charge = app.task('billing.charge', { base: LoggedTask, bind: true }, async (self, id: string) => {
 *   console.log(`${self.name}: charging ${id}, attempt ${String(self.request.retries + 1)}`)
 * })
 */
export class Task<A extends unknown[] = unknown[], R = unknown> extends OptionFields {
  /** The registered name. */
  declare name: string
  /** The app it was registered on. */
  declare app: TaskOwner
  /**
   * The current run's context. Outside a run (the task called directly, `task.call()`) it is a
   * request with `calledDirectly: true` and no id, as Celery's default `Context` is.
   */
  get request(): Request {
    return this[REQUEST] ?? directRequest(this, [])
  }
  /** Set by the engine for each run. */
  set request(request: Request) {
    this[REQUEST] = request
  }
  /** @internal */
  declare [REQUEST]: Request | undefined
  /**
   * Aborts on revoke with terminate, on the soft time limit, and on shutdown. Only meaningful on
   * the bound `self` of a running task (elsewhere it never aborts). A prototype getter, so that
   * making `self` for a run costs no property definition.
   */
  get signal(): AbortSignal {
    return this[ABORT]?.signal ?? NEVER_ABORTED
  }
  /** @internal */
  declare [ABORT]: { readonly signal: AbortSignal } | undefined
  /** @internal the function given to app.task. */
  declare fn: (...args: never[]) => unknown
  /** @internal */
  declare [RUN]: RunContext | undefined

  /**
   * Runs the task body (Celery's `__call__`). Override it in a base class to wrap every call,
   * and call `super.call(...args)`.
   */
  call(...args: A): R | Promise<R> {
    const fn = this.fn as (...a: unknown[]) => R | Promise<R>
    if (!this.bind) return fn(...args)
    // Called directly (Celery's `task(...)`): a `self` of its own with a request saying so.
    return fn(this[REQUEST] === undefined ? directSelf(this, args) : this, ...args)
  }

  /** Called before the task runs. */
  beforeStart(_taskId: string, _args: A): void | Promise<void> {}
  /** Called after the result is stored as SUCCESS. */
  onSuccess(_retval: R, _taskId: string, _args: A): void | Promise<void> {}
  /** Called when the task is about to be retried; completes before the next attempt can start. */
  onRetry(_exc: unknown, _taskId: string, _args: A, _einfo: string | null): void | Promise<void> {}
  /** Called after the result is stored as FAILURE. */
  onFailure(_exc: unknown, _taskId: string, _args: A, _einfo: string | null): void | Promise<void> {}
  /** Called after onSuccess/onFailure (not after a retry, as in Celery). */
  afterReturn(_state: State, _retval: unknown, _taskId: string, _args: A, _einfo: string | null): void | Promise<void> {}

  /** A signature with some trailing arguments; the rest (a parent's result first) come at call time. */
  s<P extends ArgSuffix<A>>(...args: P): Signature<MissingArgs<A, P>, R> {
    return new Signature({ task: this.name, args, options: {}, immutable: false, sender: this.app })
  }

  /** An immutable signature: a parent's result is not prepended. */
  si(...args: A): Signature<[], R> {
    return new Signature({ task: this.name, args, options: {}, immutable: true, sender: this.app })
  }

  /** Sends the task. Resolves once the message is stored. */
  delay(...args: A): Promise<AsyncResult<R>> {
    // The rest array is ours alone: the send may keep it instead of a copy.
    if (this[RUN] === undefined) return this.app.sendCall(this.name, args, NO_OPTIONS, true) as Promise<AsyncResult<R>>
    return this.applyAsync(args)
  }

  /**
   * Sends the task with options (countdown, eta, expires, queue, priority, headers, taskId, ...);
   * an option given as `undefined` leaves the task's default. Rejects with ConfigError on args
   * that are not an array or bad options.
   */
  applyAsync(args: A, options: SendOptions = NO_OPTIONS): Promise<AsyncResult<R>> {
    if (!Array.isArray(args)) {
      // No args at all is Celery's `apply_async()` (args=None); anything else is refused.
      if (args !== undefined) {
        try {
          checkArgs(args, `args for '${this.name}'`)
        } catch (error) {
          return Promise.reject(error)
        }
      }
      args = [] as unknown[] as A
    }
    const run = this[RUN]
    if (run !== undefined) {
      const sig = new Signature({ task: this.name, args, options: {}, immutable: true, sender: undefined })
      return run.send(sig, [], options) as Promise<AsyncResult<R>>
    }
    return this.app.sendCall(this.name, args, options) as Promise<AsyncResult<R>>
  }

  /**
   * Runs the task here and now with full tracing (hooks, retries through the clock). Rejects with
   * ConfigError on args that are not an array or bad options.
   */
  apply(args: A, options: SendOptions = {}): Promise<EagerResult<R>> {
    return this.app.applyEager(this as unknown as Task<never, unknown>, args, options) as Promise<EagerResult<R>>
  }

  /**
   * The result handle of a task id; it knows the task's `ignoreResult`. On a running task's
   * `self` it reads and waits through the engine, and a wait parks the task.
   */
  AsyncResult(id: string): AsyncResult<R> {
    return (this[RUN]?.results() ?? this.app.results()).handle<R>(id, this.ignoreResult)
  }

  /**
   * A group of tasks, each called with one slice of `items` (at most `size` long) as its argument.
   * Throws ConfigError when `items` is not an array or other iterable object (a string is refused)
   * or `size` is not a whole number >= 1.
   *
   * @example
   * const processChunk = app.task('items.process', (ids: number[]) => ids.length)
   * const allIds = Array.from({ length: 1_050 }, (_, i) => i)
   * await (await processChunk.chunks(allIds, 100).delay()).get() // [100, 100, ..., 50]
   */
  chunks(items: Iterable<A[0] extends ReadonlyArray<infer E> ? E : never>, size: number): GroupResultSignature<R> {
    return chunks(this as unknown as Task<unknown[], unknown>, items, size) as unknown as GroupResultSignature<R>
  }

  /** Records a custom state with meta (Celery's `update_state`). Inside a running task only. */
  updateState(state: State, meta: unknown = null): void {
    const run = runOf(this, 'updateState')
    checkName(state, 'self.updateState(state): state')
    run.updateState(state, meta)
  }

  /**
   * Records state `PROGRESS` with `{ current, total, percent }` and any extra fields. Throws
   * ConfigError on a count that is not a finite number >= 0 or extra fields that are not an object.
   */
  progress(current: number, total: number, extra: Record<string, unknown> = {}): void {
    checkCount(current, 'self.progress(current, total): current')
    checkCount(total, 'self.progress(current, total): total')
    checkPlainObject(extra, 'self.progress(current, total, extra): extra')
    const percent = total > 0 ? Math.floor((current / total) * 100) : 0
    this.updateState('PROGRESS', { ...extra, current, total, percent })
  }

  /**
   * Asks to run again later: `throw self.retry({ exc, countdown })`. Past `maxRetries` it throws
   * `exc` (or `MaxRetriesExceededError`) instead of returning.
   */
  retry(options: RetryRequest = {}): Retry {
    const request = this.request
    checkRetryRequest(options)
    const max = options.maxRetries !== undefined ? options.maxRetries : this.maxRetries
    if (max !== null && request.retries + 1 > max) {
      if (options.exc !== undefined) throw options.exc
      throw new MaxRetriesExceededError(`Can't retry ${this.name}[${request.id}]: max retries (${String(max)}) exceeded`)
    }
    // Called directly there is no message to send again: Celery raises `exc` (or Retry) at once.
    if (request.calledDirectly) throw options.exc ?? new Retry(options)
    return new Retry(options)
  }

  /** Whether the run was revoked, terminated, timed out (soft) or shut down. */
  isAborted(): boolean {
    if (this[RUN] === undefined) return false
    return this.signal.aborted
  }

  /**
   * Waits `ms` on the engine's clock (virtual in tests). Rejects with `ConfigError` unless `ms` is
   * a finite number >= 0.
   */
  sleep(ms: number): Promise<void> {
    const run = runOf(this, 'sleep')
    try {
      checkDuration(ms, 'self.sleep(ms): ms')
    } catch (error) {
      return Promise.reject(error)
    }
    return run.sleep(ms)
  }

  /** Acquires a lock in storage for this run; null if held by someone else. */
  lock(key: string, options: { ttl: number; wait?: number }): Promise<Lock | null> {
    return runOf(this, 'lock').lock(key, options.ttl, options.wait ?? null)
  }

  /** Logging tagged with the task id. */
  get log(): TaskLogger {
    const run = this[RUN]
    if (run === undefined) return { debug: noop, info: noop, warn: noop, error: noop }
    return {
      debug: (t) => run.log('debug', t),
      info: (t) => run.log('info', t),
      warn: (t) => run.log('warn', t),
      error: (t) => run.log('error', t),
    }
  }

  /** Sends a signature as a child of this run (parentId/rootId set, headers carried). */
  send<H>(sig: Signature<unknown[], unknown, H>, options: SendOptions = {}): Promise<H> {
    return runOf(this, 'send').send(sig as Signature<unknown[], unknown, unknown>, [], options) as Promise<H>
  }
}

function checkRetryRequest(options: RetryRequest): void {
  const o = checkOptionKeys<RetryRequest>(options, ['exc', 'countdown', 'eta', 'maxRetries'], 'self.retry(options)')
  if (o.countdown !== undefined) checkDuration(o.countdown, 'self.retry(options): countdown')
  if (o.eta !== undefined) checkTime(o.eta, 'self.retry(options): eta')
  if (o.countdown !== undefined && o.eta !== undefined) throw new ConfigError('self.retry(options): give countdown or eta, not both')
  if (o.maxRetries != null && (!Number.isInteger(o.maxRetries) || o.maxRetries < 0)) {
    throw new ConfigError(`self.retry(options): maxRetries must be a whole number >= 0, or null to retry forever, got ${String(o.maxRetries)}`)
  }
}

// A module function, not a #private method: `self` is Object.create(task), which fails brand checks.
function runOf(task: Task<never, unknown> | Task<unknown[], unknown>, what: string): RunContext {
  const run = (task as Task<unknown[], unknown>)[RUN]
  if (run === undefined) throw new ConfigError(`self.${what}() can only be called inside a running task (use bind: true)`)
  return run
}

/** Celery's default request of a task called directly: no id, no message, `calledDirectly`. */
function directRequest(task: Task<never, unknown> | Task<unknown[], unknown>, args: unknown[]): Request {
  const t = task as Task<unknown[], unknown>
  return {
    id: '',
    task: t.name,
    args,
    retries: 0,
    eta: null,
    expires: null,
    hostname: '',
    deliveryInfo: { queue: t.queue ?? DEFAULT_QUEUE, priority: t.priority ?? 0, redelivered: false },
    calledDirectly: true,
    isEager: false,
    parentId: null,
    rootId: null,
    groupId: null,
    groupIndex: null,
    chord: null,
    headers: {},
  }
}

/** The `self` of a direct call: the task with a request of its own (`Task.__call__` pushes one). */
function directSelf<T extends Task<never, unknown> | Task<unknown[], unknown>>(task: T, args: unknown[]): T {
  const self = Object.create(task) as T
  self.request = directRequest(task, args)
  return self
}

/** The signature `task.chunks()` gives: a group of the task's results. */
export type GroupResultSignature<R> = Signature<[], R[], GroupResult<R[]>>

/** @internal whether a subclass overrides a hook (hooks cost a round trip only when present). */
export function hasHook(task: Task<never, unknown>, hook: 'onSuccess' | 'onFailure' | 'afterReturn' | 'onRetry' | 'beforeStart'): boolean {
  return (task as unknown as Record<string, unknown>)[hook] !== (Task.prototype as unknown as Record<string, unknown>)[hook]
}
