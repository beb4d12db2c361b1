/**
 * Celeriac: the app. Holds the configuration and the task registry, starts the engine, and is
 * where tasks are sent, results read, and the engine controlled and inspected.
 */
import { EventEmitter } from 'eventemitter3'
import { systemClock } from '../time/clock.js'
import type { Clock } from '../time/clock.js'
import { expand, freeze, rootMessage } from '../canvas/expand.js'
import { ROOT_CONTEXT } from '../model/context.js'
import type { ExpandEnv } from '../canvas/expand.js'
import { Engine } from '../engine/engine.js'
import type { CeleriacEvents } from '../model/events.js'
import { ConfigError, NotRegistered, registerErrorClass } from '../model/errors.js'
import type { ErrorClass } from '../model/errors.js'
import { LazyAbort, inline } from '../executor/executor.js'
import type { Executor } from '../executor/executor.js'
import type { SignatureJSON, TaskMessage } from '../model/message.js'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_QUEUE,
  DEFAULT_RESULT_EXPIRES,
  TASK_DEFAULTS,
  TASK_OPTION_KEYS,
} from '../model/options.js'
import type { ErrorMatcher, QueueOptions, ResolvedTaskOptions, Route, SendOptions, TaskOptions, TaskProfile, Network } from '../model/options.js'
import { defaultNetwork } from './config.js'
import type { Config } from './config.js'
import { AsyncResult, EagerResult } from '../result/result.js'
import { decode, decodeError, encode, encodeFresh } from '../serializer/serializer.js'
import { Signature, setCurrentSender } from '../canvas/signature.js'
import { encodeArgs, optionsToJSON } from '../canvas/options-json.js'
import type { Sender } from '../canvas/signature.js'
import { FAILURE, SUCCESS } from '../model/states.js'
import { Task } from '../task/task.js'
import type { RunContext, TaskOwner } from '../task/task.js'
import { joinRealm, sharedRegistry } from '../task/registry.js'
import { uuid4 } from '../model/ids.js'
import { Locks } from './locks.js'
import { Control, Inspect } from './control.js'
import { trace } from '../task/tracer.js'
import type { Outcome, RpcCall } from '../model/protocol.js'
import { checkDuration, checkName, checkPriority, parseRate } from '../model/validate.js'
import { memoryStorage } from '../../storage/memory.js'
import type { Storage } from '../../storage/types.js'

/** Options of `app.task` with a base class. */
export type TaskOptionsWithBase<B> = TaskOptions & { base?: new () => B }

type AnyTask = Task<never, unknown>

/** The part of the Web Locks API the leader election uses. */
interface WebLocks {
  request(name: string, options: { signal: AbortSignal }, callback: () => Promise<void> | undefined): Promise<unknown>
}

interface Leadership {
  leading: boolean
  readonly abort: AbortController
  release: (() => void) | undefined
}
type Lifecycle = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

interface ResolvedConfig {
  name: string
  storage: Storage
  executor: Executor
  clock: Clock
  queues: Map<string, QueueOptions>
  declaredQueues: boolean
  routes: Array<[RegExp, Route]>
  resultExpires: number
  taskDefaults: TaskOptions
  consume: boolean | 'leader'
  random: () => number
  network: Network
}

/**
 * A celeriac app.
 *
 * @example
 * const app = new Celeriac({ name: 'orders' })
 * const add = app.task('math.add', (a: number, b: number) => a + b)
 * await app.start()
 * const r = await add.delay(2, 2)
 * await r.get() // 4
 * await app.stop()
 */
export class Celeriac implements Sender, TaskOwner {
  /** Task lifecycle events (`task-sent`, `task-succeeded`, ...). */
  readonly events = new EventEmitter<CeleriacEvents>()
  /** Locks in storage, with TTL and fencing tokens. */
  readonly locks: Locks
  /** Change the running engine: revoke, rate limits, time limits, purge. */
  readonly control: Control
  /** Look at the running engine: active, scheduled, reserved, revoked, registered, stats. */
  readonly inspect: Inspect
  readonly #tasks = new Map<string, AnyTask>()
  #config: ResolvedConfig
  #engine: Engine | undefined
  /** How sends become messages (made at start, with the config as it is then). */
  #env: ExpandEnv | undefined
  #lifecycle: Lifecycle = 'new'
  #leadership: Leadership | undefined

  constructor(config: Config = {}) {
    this.#config = resolveConfig(config, undefined)
    joinRealm(this)
    this.locks = new Locks(
      () => {
        this.#requireEngine('use locks')
        return this.#config.storage
      },
      () => this.#config.clock,
      () => this.#newId(),
      (work) => this.#engine?.hold(work) ?? work,
    )
    this.control = new Control((what) => this.#requireEngine(what))
    this.inspect = new Inspect((what) => this.#requireEngine(what), () => this.registered())
  }

  /** The app's name. */
  get name(): string {
    return this.#config.name
  }

  /** The clock every engine timer uses. */
  get clock(): Clock {
    return this.#config.clock
  }

  /** Changes configuration; only before `start()`. Throws ConfigError on bad options. */
  configure(config: Config): this {
    if (this.#lifecycle !== 'new') throw new ConfigError('configure() must be called before app.start()')
    this.#config = resolveConfig(config, this.#config)
    return this
  }

  /**
   * Registers a task under an explicit name.
   *
   * @example
   * const add = app.task('math.add', (a: number, b: number) => a + b)
   * const fetch = app.task('web.fetch', { bind: true, maxRetries: 5 }, async (self, url: string) => { ... })
   */
  task<A extends unknown[], R>(name: string, fn: (...args: A) => R): Task<A, Awaited<R>>
  task<A extends unknown[], R, B extends object = Task<A, Awaited<R>>>(
    name: string,
    options: TaskOptionsWithBase<B> & { bind: true },
    fn: (self: B, ...args: A) => R,
  ): Task<A, Awaited<R>>
  task<A extends unknown[], R>(
    name: string,
    options: TaskOptionsWithBase<object> & { bind?: false },
    fn: (...args: A) => R,
  ): Task<A, Awaited<R>>
  task(name: string, optionsOrFn: unknown, maybeFn?: unknown): unknown {
    const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, maybeFn]
    if (this.#tasks.has(name)) throw new ConfigError(`A task named '${name}' is already registered on this app; task names must be unique`)
    const task = createTask(name, options as TaskOptionsWithBase<AnyTask>, fn, this, this.#config.taskDefaults)
    this.#tasks.set(name, task)
    return task
  }

  /** The registered task of a name (this app's, then shared ones). */
  getTask(name: string): AnyTask | undefined {
    return this.#tasks.get(name) ?? sharedRegistry.get(name)
  }

  #profile(name: string): TaskProfile | undefined {
    return this.getTask(name) ?? this.#config.executor.registered?.().get(name)
  }

  /** @internal Names registered on this app itself. */
  ownTaskNames(): string[] {
    return [...this.#tasks.keys()]
  }

  /** Names of every task this app can run. */
  registered(): string[] {
    const names = new Set([...this.#tasks.keys(), ...sharedRegistry.keys(), ...(this.#config.executor.registered?.().keys() ?? [])])
    return [...names].sort()
  }

  /** Opens storage, recovers queued work, starts the executor and consuming. */
  async start(): Promise<void> {
    if (this.#lifecycle !== 'new') throw new ConfigError(`app.start() was already called (the app is ${this.#lifecycle})`)
    this.#lifecycle = 'starting'
    const c = this.#config
    const env = this.#expandEnv()
    this.#env = env
    const engine = new Engine({
      storage: c.storage,
      executor: c.executor,
      clock: c.clock,
      hostname: c.name,
      concurrency: (queue) => c.queues.get(queue)?.concurrency ?? (c.executor.reportsStart ? c.executor.capacity : Math.min(DEFAULT_CONCURRENCY, c.executor.capacity)),
      resultExpires: c.resultExpires,
      consume: c.consume === true,
      lookup: (name) => this.getTask(name),
      profile: (name) => this.#profile(name),
      random: c.random,
      network: c.network,
      events: this.events,
      expand: (json, context) => expand(json, context, env),
      rpc: (call, _taskId, park) => this.#answer(call, park),
    })
    try {
      await engine.start()
    } catch (error) {
      this.#lifecycle = 'new'
      throw error
    }
    this.#engine = engine
    this.#lifecycle = 'started'
    setCurrentSender(this)
    lastStarted = this
    if (c.consume === 'leader') this.#seekLeadership(engine)
  }

  /** Whether this app consumes: always with `consume: true`, once elected with `'leader'`. */
  get isConsumer(): boolean {
    return this.#config.consume === true || this.#leadership?.leading === true
  }

  /** Waits for the tab-wide leader lock, consumes while holding it, lets go on stop. */
  #seekLeadership(engine: Engine): void {
    const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks
    const leadership: Leadership = { leading: false, abort: new AbortController(), release: undefined }
    this.#leadership = leadership
    const lead = (): void => {
      leadership.leading = true
      engine.becomeConsumer().catch((error: unknown) => this.events.emit('log', { id: '', level: 'error', text: `could not start consuming: ${String(error)}` }))
    }
    if (locks === undefined) return lead() // Alone: no tabs to share with.
    locks
      .request(`celeriac:${this.name}:leader`, { signal: leadership.abort.signal }, () => {
        if (leadership.abort.signal.aborted) return undefined
        lead()
        // Held until this app stops (or the tab goes away, which frees it for the next tab).
        return new Promise<void>((release) => (leadership.release = release))
      })
      .catch(() => undefined) // Aborted by stop() before being elected.
  }

  /**
   * Stops consuming, waits for running tasks (warm shutdown) up to `timeout` ms of real time,
   * then closes the executor and storage.
   */
  async stop(options: { timeout?: number } = {}): Promise<void> {
    if (this.#lifecycle !== 'started') return
    this.#lifecycle = 'stopping'
    try {
      await this.#engine!.stop(options.timeout)
    } finally {
      this.#lifecycle = 'stopped'
      this.#engine = undefined
      this.#leadership?.abort.abort()
      this.#leadership?.release?.()
      this.#leadership = undefined
    }
  }

  /** Resolves when nothing is running and nothing is ready to run. */
  whenIdle(): Promise<void> {
    return this.#engine?.whenIdle() ?? Promise.resolve()
  }

  /**
   * Sends a task by name (Celery's `send_task`); the task may be defined elsewhere.
   *
   * @example
   * const r = await app.sendTask('math.add', [2, 2], { countdown: 1_000 })
   */
  sendTask<R = unknown>(name: string, args: readonly unknown[] = [], options: SendOptions = {}): Promise<AsyncResult<R>> {
    return this.sendCall(name, args, options) as Promise<AsyncResult<R>>
  }

  /** Sends a signature (any canvas) through this app. */
  send<H>(sig: Signature<unknown[], unknown, H>, options: SendOptions = {}): Promise<H> {
    return this.sendSignature(sig as Signature<unknown[], unknown, unknown>, [], options) as Promise<H>
  }

  /** A handle for any task id. */
  AsyncResult<T = unknown>(id: string): AsyncResult<T> {
    return this.#requireEngine('read results').handle<T>(id)
  }

  /** @internal */
  sendCall(name: string, args: readonly unknown[], options: SendOptions, fresh = false): Promise<unknown> {
    let engine: Engine
    let encodedArgs: SignatureJSON['args']
    let optionsJSON: SignatureJSON['options']
    try {
      engine = this.#requireEngine(`send '${name}'`)
      this.#checkKnown(name)
      encodedArgs = fresh ? encodeFresh(args as unknown[], 'args') : encodeArgs(args)
      optionsJSON = optionsToJSON(options)
      // A task id may name a task that exists already (dedupe): that send takes the general path.
      if (options.taskId === undefined) return engine.sendMessage(rootMessage(name, encodedArgs, optionsJSON, this.#env!))
    } catch (error) {
      // Bad input rejects the send's promise, as it would in an async function.
      return Promise.reject(error)
    }
    return engine.send({ task: name, args: encodedArgs, options: optionsJSON, immutable: true, kind: 'task' }, ROOT_CONTEXT, options.taskId, engine.wrapHandle)
  }

  /** @internal */
  async sendSignature(sig: Signature<unknown[], unknown, unknown>, args: readonly unknown[], options: SendOptions): Promise<unknown> {
    const engine = this.#requireEngine(`send '${sig.describe()}'`)
    if (sig.kind === 'task') this.#checkKnown(sig.task)
    const full = args.length === 0 && Object.keys(options).length === 0 ? sig : sig.clone({ args: [...args, ...sig.args], options: { ...sig.options, ...options } })
    const json = freeze(full.toJSON(), this.#expandEnv())
    return this.#sendJSON(engine, json, options.taskId ?? sig.options.taskId)
  }

  #sendJSON(engine: Engine, json: SignatureJSON, dedupeId: string | undefined): Promise<unknown> {
    return engine.send(json, ROOT_CONTEXT, dedupeId, engine.wrapHandle)
  }

  /** @internal `task.apply()`: runs here and now through the tracer; nothing is stored. */
  async applyEager(task: AnyTask, args: readonly unknown[], options: SendOptions): Promise<EagerResult<unknown>> {
    const id = options.taskId ?? this.#newId()
    const clock = this.#config.clock
    let retries = 0
    for (;;) {
      const message = eagerMessage(id, task, encodeArgs(args), options, retries)
      let outcome: Outcome | undefined
      const context = this.#eagerContext()
      await trace(
        { task, message, hostname: this.name, abort: new LazyAbort(), context: () => context, isEager: true },
        {
          outcome: (o) => {
            outcome = o
            return undefined
          },
          finished: () => undefined,
        },
      )
      const done = outcome!
      if (done.type === 'success') return new EagerResult(id, SUCCESS, decode(done.value))
      if (done.type === 'retry') {
        const countdown = done.jitter ? Math.floor(this.#config.random() * ((done.countdown ?? 0) + 1)) : (done.countdown ?? 0)
        const due = done.eta ?? clock.now() + countdown
        await new Promise<void>((resolve) => clock.setTimer(due, resolve))
        retries++
        continue
      }
      if (done.type === 'failure' || done.type === 'reject') return new EagerResult(id, FAILURE, decodeError(done.error))
      return new EagerResult(id, 'IGNORED', null)
    }
  }

  /** Calls a running task makes besides sends and sleeps. */
  async #answer(call: RpcCall, park: (waiting: boolean) => void): Promise<unknown> {
    switch (call.type) {
      case 'lock.acquire':
        return this.locks.grant(call.key, call.ttl, call.wait, park)
      case 'lock.release':
        return this.locks.release(call.key, call.token, call.owner)
      case 'lock.extend':
        return this.locks.extend(call.key, call.token, call.owner, call.ttl)
      case 'result.get':
        return (await this.#requireEngine('read results').read(call.id)) ?? null
      default:
        throw new ConfigError(`Unsupported call '${call.type}' from a task`)
    }
  }

  #eagerContext(): RunContext {
    const clock = this.#config.clock
    return {
      updateState: () => undefined,
      sleep: (ms) => new Promise<void>((resolve) => clock.setTimer(clock.now() + ms, resolve)),
      lock: (key, ttl, wait) => this.locks.acquire(key, wait === null ? { ttl } : { ttl, wait }),
      send: (sig, args, options) => this.sendSignature(sig, args, options),
      log: (level, text) => this.events.emit('log', { id: '', level, text }),
    }
  }

  #checkKnown(name: string): void {
    // A producer (or a tab waiting to lead) may send tasks only the consumer's workers define.
    if (this.#config.consume !== true) return
    if (this.getTask(name) !== undefined) return
    if (this.#config.executor.registered?.().has(name)) return
    throw new NotRegistered(`Task '${name}' is not registered; define it with app.task('${name}', fn) (or sharedTask) before sending`)
  }

  #requireEngine(what: string): Engine {
    if (this.#engine !== undefined) return this.#engine
    const state = this.#lifecycle
    if (state === 'stopped' || state === 'stopping') throw new ConfigError(`Cannot ${what}: the app has stopped`)
    throw new ConfigError(`Cannot ${what}: the app has not started; await app.start() first`)
  }

  #newId(): string {
    return uuid4()
  }

  #expandEnv(): ExpandEnv {
    const c = this.#config
    return {
      now: () => c.clock.now(),
      newId: () => this.#newId(),
      profile: (name) => this.#profile(name),
      route: (name) => {
        if (c.routes.length === 0) return undefined
        for (let i = 0; i < c.routes.length; i++) if (c.routes[i]![0].test(name)) return c.routes[i]![1]
        return undefined
      },
      checkQueue: (queue, task) => {
        if (c.declaredQueues && !c.queues.has(queue)) {
          throw new ConfigError(`sending '${task}': unknown queue '${queue}'; declare it in the app's queues (${[...c.queues.keys()].join(', ')})`)
        }
      },
    }
  }

  /** @internal the running engine, for control/inspect/testing. */
  get engine(): Engine | undefined {
    return this.#engine
  }
}

/**
 * Registers a task in a registry every app uses (Celery's `shared_task`); it is sent through the
 * app that started last.
 */
export function sharedTask<A extends unknown[], R>(name: string, fn: (...args: A) => R): Task<A, Awaited<R>>
export function sharedTask<A extends unknown[], R, B extends object = Task<A, Awaited<R>>>(
  name: string,
  options: TaskOptionsWithBase<B> & { bind: true },
  fn: (self: B, ...args: A) => R,
): Task<A, Awaited<R>>
export function sharedTask<A extends unknown[], R>(
  name: string,
  options: TaskOptionsWithBase<object> & { bind?: false },
  fn: (...args: A) => R,
): Task<A, Awaited<R>>
export function sharedTask(name: string, optionsOrFn: unknown, maybeFn?: unknown): unknown {
  const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, maybeFn]
  if (sharedRegistry.has(name)) throw new ConfigError(`A shared task named '${name}' is already registered; task names must be unique`)
  const task = createTask(name, options as TaskOptionsWithBase<AnyTask>, fn, currentOwner, {})
  sharedRegistry.set(name, task)
  return task
}

/** Shared tasks send through the app that started last. */
const currentOwner: TaskOwner = {
  get name() {
    return current().name
  },
  sendSignature: (sig, args, options) => current().sendSignature(sig, args, options),
  sendCall: (name, args, options, fresh) => current().sendCall(name, args, options, fresh),
  applyEager: (task, args, options) => current().applyEager(task, args, options),
  AsyncResult: (id) => current().AsyncResult(id),
}

function current(): TaskOwner {
  const owner = lastStarted
  if (owner === undefined) throw new ConfigError('No app has started; await app.start() before using a shared task')
  return owner
}

let lastStarted: TaskOwner | undefined

function createTask(name: string, options: TaskOptionsWithBase<AnyTask>, fn: unknown, owner: TaskOwner, defaults: TaskOptions): AnyTask {
  checkName(name, 'app.task(name): the task name')
  if (typeof fn !== 'function') throw new ConfigError(`app.task('${name}'): the last argument must be the task function`)
  if (options === null || typeof options !== 'object') throw new ConfigError(`app.task('${name}'): options must be an object`)
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

function validateTaskOptions(name: string, o: ResolvedTaskOptions): void {
  const where = `app.task('${name}')`
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

function resolveConfig(config: Config, base: ResolvedConfig | undefined): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('The app config must be an object')
  const queues = new Map<string, QueueOptions>(base?.queues ?? [[DEFAULT_QUEUE, {}]])
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
  if (config.resultExpires !== undefined) checkDuration(config.resultExpires, 'resultExpires')
  if (config.consume !== undefined && typeof config.consume !== 'boolean' && config.consume !== 'leader') {
    throw new ConfigError(`consume must be true, false or 'leader', got ${String(config.consume)}`)
  }
  for (const cls of config.errors ?? []) registerErrorClass(cls)
  if (config.random !== undefined && typeof config.random !== 'function') throw new ConfigError('random must be a function returning [0, 1)')
  return {
    name: config.name ?? base?.name ?? 'celeriac',
    storage: config.storage ?? base?.storage ?? memoryStorage(),
    executor: config.executor ?? base?.executor ?? inline(),
    clock: config.clock ?? base?.clock ?? systemClock(),
    queues,
    declaredQueues,
    routes,
    resultExpires: config.resultExpires ?? base?.resultExpires ?? DEFAULT_RESULT_EXPIRES,
    taskDefaults: { ...base?.taskDefaults, ...config.taskDefaults },
    consume: config.consume ?? base?.consume ?? true,
    random: config.random ?? base?.random ?? Math.random,
    network: config.network ?? base?.network ?? defaultNetwork(),
  }
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`)
}


function eagerMessage(id: string, task: AnyTask, args: TaskMessage['args'], options: SendOptions, retries: number): TaskMessage {
  return {
    id,
    task: task.name,
    args,
    headers: options.headers === undefined ? null : encode(options.headers, 'headers'),
    queue: options.queue ?? task.queue ?? DEFAULT_QUEUE,
    priority: options.priority ?? task.priority ?? 0,
    eta: null,
    expires: null,
    retries,
    seq: 0,
    parentId: null,
    rootId: id,
    groupId: null,
    groupIndex: null,
    chord: null,
    chain: [],
    links: [],
    linkErrors: [],
    timeLimit: null,
    softTimeLimit: null,
    ignoreResult: false,
    acksLate: false,
    leased: false,
    redelivered: false,
  }
}

