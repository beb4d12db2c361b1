/**
 * Celeriac: the app. Holds the configuration and the task registry, starts the engine, and is
 * where tasks are sent, results read, and the engine controlled and inspected.
 */
import type { EventEmitter } from 'eventemitter3'
import type { Clock } from '../time/clock.js'
import { expand, freeze, rootMessage } from '../canvas/expand.js'
import type { ExpandEnv } from '../canvas/expand.js'
import { encodeArgs, optionsToJSON } from '../canvas/options-json.js'
import { checkSend } from '../canvas/signature.js'
import type { Sender, Signature } from '../canvas/signature.js'
import { Engine } from '../engine/engine.js'
import { ROOT_CONTEXT } from '../model/context.js'
import type { CeleriacEvents } from '../model/events.js'
import { ConfigError } from '../model/errors.js'
import { uuid4 } from '../model/ids.js'
import type { SignatureJSON } from '../model/message.js'
import { DEFAULT_CONCURRENCY } from '../model/options.js'
import type { SendOptions, TaskProfile } from '../model/options.js'
import type { AsyncResult, EagerResult, ResultSource } from '../result/result.js'
import { encodeFresh } from '../serializer/encode.js'
import { joinRealm, sharedRegistry } from '../task/registry.js'
import type { RunContext, Task, TaskOwner } from '../task/task.js'
import { AppEvents } from './app-events.js'
import { AppSchedules } from './app-schedules.js'
import { checkDeclared, checkKnown, noEngine } from './call-checks.js'
import { keepsAlive, resolveConfig, scheduleArgs } from './config.js'
import type { Config, ResolvedConfig } from './config.js'
import { Control, Inspect } from './control.js'
import { createTask } from './define-task.js'
import type { TaskOptionsWithBase } from './define-task.js'
import { applyEager } from './eager.js'
import { expandEnvOf } from './expand-env.js'
import type { Schedules } from '../schedule/schedules.js'
import { resign, seekLeadership } from './leader.js'
import type { Leadership } from './leader.js'
import { Locks, answerTaskCall } from './locks.js'
import { sendCallFrom, sendingRun } from './run-sends.js'
import { sharedOwner, startedLast } from './shared-task.js'

export type { TaskOptionsWithBase } from './define-task.js'

type AnyTask = Task<never, unknown>

type Lifecycle = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

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
  readonly #events = new AppEvents()
  /** Task lifecycle events (`task-sent`, `task-succeeded`, ...). */
  readonly events: EventEmitter<CeleriacEvents> = this.#events
  /** Locks in storage, with TTL and fencing tokens. */
  readonly locks: Locks
  /** Change the running engine: revoke, rate limits, time limits, pause and resume, purge. */
  readonly control: Control
  /** Look at the running engine: active, scheduled, reserved, revoked, registered, stats. */
  readonly inspect: Inspect
  /** Periodic tasks (Celery beat): `upsert`, `remove`, `list`; fired by the app that consumes. */
  readonly schedules: Schedules
  readonly #schedules: AppSchedules
  readonly #tasks = new Map<string, AnyTask>()
  /** `getTask` as a function made once: every send checks its task name with it. */
  readonly #getTask = (name: string): AnyTask | undefined => this.getTask(name)
  #config: ResolvedConfig
  #engine: Engine | undefined
  /** How sends become messages (made at start, with the config as it is then). */
  #env: ExpandEnv | undefined
  #lifecycle: Lifecycle = 'new'
  #leadership: Leadership | undefined
  /** Lets the process exit again (`keepAlive`): set from start() until stop(). */
  #releaseHold: (() => void) | undefined

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
    this.control = new Control(
      (what) => this.#requireEngine(what),
      (name) => checkKnown(this.#config, name, this.#getTask),
      (queue, what) => checkDeclared(this.#config, queue, what),
    )
    this.inspect = new Inspect(
      (what) => this.#requireEngine(what),
      () => this.registered(),
    )
    this.#schedules = new AppSchedules({
      requireEngine: (what) => this.#requireEngine(what),
      config: () => this.#config,
      env: () => this.#env!,
      newId: () => this.#newId(),
      known: (name) => this.#profile(name) !== undefined,
      log: (level, text) => this.events.emit('log', { id: '', level, text }),
    })
    this.schedules = this.#schedules.schedules
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
   * const page = app.task('web.fetch', { bind: true, maxRetries: 5 }, async (self, url: string) => {
   *   const response = await fetch(url, { signal: self.signal })
   *   return response.text()
   * })
   */
  task<A extends unknown[], R>(name: string, fn: (...args: A) => R): Task<A, Awaited<R>>
  task<A extends unknown[], R, B extends object = Task<A, Awaited<R>>>(
    name: string,
    options: TaskOptionsWithBase<B> & { bind: true },
    fn: (self: B, ...args: A) => R,
  ): Task<A, Awaited<R>>
  task<A extends unknown[], R>(name: string, options: TaskOptionsWithBase<object> & { bind?: false }, fn: (...args: A) => R): Task<A, Awaited<R>>
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

  /**
   * Opens storage, recovers queued work, starts the executor and consuming. From here until
   * `stop()` a consuming app keeps a Node process running, as a server does (`keepAlive`).
   *
   * @example
   * await app.start()
   * process.once('SIGTERM', () => void app.stop()) // or shutdownOnSignals(app) from celeriac/node
   */
  async start(): Promise<void> {
    if (this.#lifecycle !== 'new') throw new ConfigError(`app.start() was already called (the app is ${this.#lifecycle})`)
    this.#lifecycle = 'starting'
    const c = this.#config
    const env = this.#expandEnv()
    this.#env = env
    const engine: Engine = new Engine({
      storage: c.storage,
      executor: c.executor,
      clock: c.clock,
      hostname: c.name,
      queues: [...c.queues.keys()],
      concurrency: (queue) =>
        c.queues.get(queue)?.concurrency ?? (c.executor.reportsStart ? c.executor.capacity : Math.min(DEFAULT_CONCURRENCY, c.executor.capacity)),
      resultExpires: c.resultExpires,
      consume: c.consume === true,
      foreignWorkers: c.foreignWorkers,
      lookup: (name) => this.getTask(name),
      profile: (name) => this.#profile(name),
      random: c.random,
      network: c.network,
      events: this.events,
      onListener: (watcher) => this.#events.onListener(watcher),
      expand: (json, context) => expand(json, context, env),
      rpc: (call, _taskId, park) => answerTaskCall(this.locks, call, park),
      onConsume: (): Promise<void> => this.#schedules.fire(engine),
    })
    try {
      await engine.start()
    } catch (error) {
      this.#schedules.stopFiring()
      this.#lifecycle = 'new'
      throw error
    }
    this.#engine = engine
    this.#lifecycle = 'started'
    if (keepsAlive(c)) this.#releaseHold = c.clock.hold?.()
    startedLast(this)
    try {
      for (const [id, entry] of c.schedules) await this.schedules.upsert(id, ...scheduleArgs(entry))
    } catch (error) {
      await this.stop()
      this.#lifecycle = 'new'
      throw error
    }
    if (c.consume === 'leader') {
      const leadership = seekLeadership(
        `celeriac:${this.name}:leader`,
        () => engine.becomeConsumer(),
        (error) => this.events.emit('log', { id: '', level: 'error', text: `could not start consuming (the lead goes to another tab): ${String(error)}` }),
      )
      this.#leadership = leadership
      // Alone (Node: no Web Locks) it leads at once: start() fails as a consuming app's would.
      if (leadership.alone !== undefined) {
        try {
          await leadership.alone
        } catch (error) {
          await this.stop()
          this.#lifecycle = 'new'
          throw error
        }
      }
    }
  }

  /** Whether this app consumes: always with `consume: true`, once elected with `'leader'`. */
  get isConsumer(): boolean {
    return this.#config.consume === true || this.#leadership?.leading === true
  }

  /**
   * Stops consuming, waits for running tasks (warm shutdown) up to `timeout` ms of real time,
   * then closes the executor and storage, and lets the process exit (`keepAlive`). Queued tasks
   * stay queued in durable storage for the next start.
   *
   * @example
   * await app.stop({ timeout: 30_000 })
   */
  async stop(options: { timeout?: number } = {}): Promise<void> {
    if (this.#lifecycle !== 'started') return
    this.#lifecycle = 'stopping'
    this.#schedules.stopFiring()
    try {
      await this.#engine!.stop(options.timeout)
    } finally {
      this.#lifecycle = 'stopped'
      this.#engine = undefined
      this.#releaseHold?.()
      this.#releaseHold = undefined
      resign(this.#leadership)
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
    return this.results().handle<T>(id)
  }

  /**
   * @internal Where result handles read: the engine; inside a task, the engine through the run,
   * so a wait parks the task and virtual time moves.
   */
  results(): ResultSource {
    const run = sendingRun(this, sharedOwner)
    return run !== undefined ? run.context().results() : this.#requireEngine('read results')
  }

  /** @internal */
  sendCall(name: string, args: readonly unknown[], options: SendOptions, fresh = false): Promise<unknown> {
    const run = sendingRun(this, sharedOwner)
    if (run !== undefined) return sendCallFrom(run, name, args, options)
    let engine: Engine
    let encodedArgs: SignatureJSON['args']
    let optionsJSON: SignatureJSON['options']
    try {
      engine = this.#requireEngine(`send '${name}'`)
      checkKnown(this.#config, name, this.#getTask)
      encodedArgs = fresh ? encodeFresh(args as unknown[], 'args') : encodeArgs(args)
      optionsJSON = optionsToJSON(options, name)
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
    checkSend(sig, options)
    const run = sendingRun(this, sharedOwner)
    if (run !== undefined) return run.context().send(sig, args, options)
    const engine = this.#requireEngine(`send '${sig.describe()}'`)
    const full = args.length === 0 && Object.keys(options).length === 0 ? sig : sig.clone({ args: [...args, ...sig.args] }).set(options)
    const json = freeze(full.toJSON(), this.#expandEnv())
    return this.#sendJSON(engine, json, options.taskId ?? sig.options.taskId)
  }

  #sendJSON(engine: Engine, json: SignatureJSON, dedupeId: string | undefined): Promise<unknown> {
    return engine.send(json, ROOT_CONTEXT, dedupeId, engine.wrapHandle)
  }

  /** @internal `task.apply()`: runs here and now through the tracer; nothing is stored. */
  applyEager(task: AnyTask, args: readonly unknown[], options: SendOptions): Promise<EagerResult<unknown>> {
    const c = this.#config
    return applyEager(task, args, options, {
      newId: () => this.#newId(),
      hostname: this.name,
      clock: c.clock,
      random: c.random,
      context: () => this.#eagerContext(),
    })
  }

  #eagerContext(): RunContext {
    const clock = this.#config.clock
    return {
      updateState: () => undefined,
      sleep: (ms) => new Promise<void>((resolve) => clock.setTimer(clock.now() + ms, resolve)),
      lock: (key, ttl, wait) => this.locks.acquire(key, wait === null ? { ttl } : { ttl, wait }),
      send: (sig, args, options) => this.sendSignature(sig, args, options),
      results: () => this.results(),
      log: (level, text) => this.events.emit('log', { id: '', level, text }),
    }
  }

  #requireEngine(what: string): Engine {
    if (this.#engine !== undefined) return this.#engine
    throw noEngine(what, this.#lifecycle === 'stopped' || this.#lifecycle === 'stopping')
  }

  #newId(): string {
    return uuid4()
  }

  #expandEnv(): ExpandEnv {
    return expandEnvOf(
      this.#config,
      () => this.#newId(),
      (name) => this.#profile(name),
    )
  }

  /** @internal the running engine, for control/inspect/testing. */
  get engine(): Engine | undefined {
    return this.#engine
  }
}
