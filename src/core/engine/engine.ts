/**
 * The engine: one per started app. It owns consumption of a storage location: it writes
 * messages, keeps them in the scheduler, hands ready ones to the executor within each queue's
 * concurrency, and commits each outcome (result + ack + next messages) in one storage call.
 */
import type { EventEmitter } from 'eventemitter3'
import type { Clock, TimerHandle } from '../time/clock.js'
import type { CeleriacEvents, TaskEventBase } from '../model/events.js'
import { ChordError, ConfigError, StorageError, TaskRevokedError, TimeLimitExceeded, WorkerLostError } from '../model/errors.js'
import { finalId as finalIdOf } from '../canvas/expand.js'
import type { ChordRecord, Expansion, HandleJSON, MessageContext } from '../model/context.js'
import type { Executor } from '../executor/executor.js'
import type { ResultRecord, SignatureJSON, TaskMessage } from '../model/message.js'
import type { FromRuntime, Outcome, RpcCall } from '../model/protocol.js'
import { AsyncResult, GroupResult } from '../result/result.js'
import type { ResultSource } from '../result/result.js'
import { Scheduler } from '../time/scheduler.js'
import { microtask } from '../time/microtask.js'
import { RateLimiter } from '../time/rate-limit.js'
import { RevokedSet } from './revoked.js'
import { parseRate } from '../model/validate.js'
import type { ReadyQueue } from '../time/scheduler.js'
import { decode, decodeError, encode, encodeError, tracebackOf } from '../serializer/serializer.js'
import type { Encoded } from '../model/json.js'
import { FAILURE, PENDING, READY_STATES, RETRY, REVOKED, STARTED, SUCCESS } from '../model/states.js'
import type { State } from '../model/states.js'
import type { Task } from '../task/task.js'
import type { TaskProfile } from '../model/options.js'
import type { Mutation, Storage, StorageChange, StoredValue } from '../../storage/types.js'
import { purgeExpiredResults, purgeInterval } from './result-expiry.js'
import type { Network } from '../model/options.js'

/** What the app hands the engine. */
export interface EngineConfig {
  readonly storage: Storage
  readonly executor: Executor
  readonly clock: Clock
  readonly hostname: string
  readonly concurrency: (queue: string) => number
  readonly resultExpires: number
  readonly consume: boolean
  readonly network: Network
  /** A task registered here (the inline executor runs these). */
  readonly lookup: (name: string) => Task<never, unknown> | undefined
  /** What is known of a task's options, here or in the workers. */
  readonly profile: (name: string) => TaskProfile | undefined
  readonly random: () => number
  readonly events: EventEmitter<CeleriacEvents>
  /** Answers the other calls a running task makes (locks, results). */
  readonly rpc?: (call: RpcCall, taskId: string, park: (waiting: boolean) => void) => Promise<unknown>
  /** Builds messages for a signature node (task or canvas; canvas.ts). */
  readonly expand: (json: SignatureJSON, context: MessageContext) => Expansion
}

interface Running {
  readonly message: TaskMessage
  startedAt: number
  /** Whether it really started (a prefetching executor may hold it first). */
  started: boolean
  settled: boolean
  parked: number
  hooks: boolean
  /** Ids it sent through `self` (shared empty list until the first). */
  children: string[]
  /** Its time-limit timers (shared empty list until the first). */
  timers: TimerHandle[]
  revokedWhileRunning: boolean
  /** Its queue slot was given back (its body ended; its outcome may still be being stored). */
  slotFreed: boolean
  /** Set with its outcome, for what follows its commit (see #afterOutcome). */
  outcome: Outcome | undefined
  record: ResultRecord | undefined
  followUps: TaskMessage[]
  requeued: boolean
  /** Wakers of its pending `self.sleep` calls (made on first sleep). */
  sleeps?: Set<() => void>
}

/** The one empty list shared by every message and run that has nothing there; never mutated. */
const EMPTY: never[] = Object.freeze([]) as never[]
const RESOLVED = Promise.resolve()

export class Engine implements ResultSource {
  readonly clock: Clock
  readonly #config: EngineConfig
  readonly #storage: Storage
  /**
   * Storage that neither survives the process nor is shared (memory): leases and STARTED
   * records exist for crash recovery and for other readers, so here they are skipped and a
   * running task's STARTED state is read from the engine itself.
   */
  readonly #volatile: boolean
  readonly #executor: Executor
  readonly #scheduler: Scheduler
  readonly #running = new Map<string, Running>()
  readonly #runningPerQueue = new Map<string, number>()
  readonly #finishingChords = new Set<string>()
  /** Messages of `requires: 'online'` tasks held while the network is down. */
  #offline: TaskMessage[] = []
  #unsubscribeNetwork: (() => void) | undefined
  #unwatch: (() => void) | undefined
  /** Ids queued, scheduled or running here: taskId dedupe without a storage read. */
  readonly #known = new Set<string>()
  /** Revoked ids, bounded and expiring like Celery's worker set; also kept in storage. */
  readonly #revoked: RevokedSet
  readonly #watchers = new Map<string, Set<(record: ResultRecord) => void>>()
  #idleWaiters: Array<() => void> = []
  #quietWaiters: Array<() => void> = []
  #parked = 0
  #pendingOps = 0
  #pumpScheduled = false
  #seq = 0
  #consuming: boolean
  #closed = false
  #detachClock: (() => void) | undefined
  #rpcTimers = new Set<TimerHandle>()
  /** Runs reported started in this tick, not yet marked (see #startSoon). */
  #starting: Running[] = []
  /** Commits waiting for the end of the tick (see #commitThen). */
  #batch: Mutation[] = []
  #batchThens: Array<(arg: unknown) => void> = []
  #batchArgs: unknown[] = []
  /** Settles the sends that joined the batch (made when the first one does). */
  #batchWritten: Deferred | undefined
  #batchScheduled = false
  readonly #rates = new RateLimiter()
  readonly #timeLimits = new Map<string, { soft: number | null; hard: number | null }>()
  readonly #rateParked = new Map<string, TaskMessage[]>()
  readonly #rateTimers = new Set<TimerHandle>()
  #purgeTimer: TimerHandle | undefined

  constructor(config: EngineConfig) {
    this.#config = config
    this.clock = config.clock
    this.#storage = config.storage
    this.#volatile = !config.storage.capabilities.durable && !config.storage.capabilities.shared
    this.#executor = config.executor
    this.#consuming = config.consume
    this.#scheduler = new Scheduler(config.clock, () => this.#schedulePump())
    this.#revoked = new RevokedSet(config.clock)
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    await this.#storage.open()
    try {
      if (this.#consuming) await this.#startConsuming()
      else await this.#commit(this.#revoked.load(await this.#store().entries('revoked')))
    } catch (error) {
      await this.#storage.close().catch(() => undefined)
      throw error
    }
    // Shared storage (tabs): results another handle stores wake this one's waiters; a consumer
    // takes in messages other handles send.
    this.#unwatch = this.#storage.watch?.((changes) => this.#onExternal(changes))
    this.#unsubscribeNetwork = this.#config.network.subscribe(() => this.#onNetwork())
    this.#detachClock = this.clock.attach?.({ whenQuiet: () => this.whenQuiet(), isQuiet: () => this.#isQuiet() })
    this.#schedulePump()
  }

  /**
   * Starts consuming on an engine that started as a producer (the tab elected leader): starts the
   * executor and recovers as after a crash, since the previous consumer may have died mid-task.
   */
  async becomeConsumer(): Promise<void> {
    if (this.#consuming || this.#closed) return
    this.#consuming = true
    await this.#startConsuming()
    this.#schedulePump()
  }

  async #startConsuming(): Promise<void> {
    // The executor starts first: recovery may already dispatch (errbacks and chord bodies of
    // tasks lost in a crash), and a run posted to an executor not yet started would be lost.
    await this.#executor.start({
      receive: (message) => this.#receive(message),
      lookup: (name) => this.#config.lookup(name),
    })
    try {
      await this.#recover()
    } catch (error) {
      await this.#executor.stop().catch(() => undefined)
      throw error
    }
  }

  /** Back online: the held messages go back to their queues, in their order. */
  #onNetwork(): void {
    if (this.#offline.length === 0 || !this.#config.network.isOnline()) return
    const held = this.#offline
    this.#offline = []
    for (const message of held) this.#scheduler.add(message)
    this.#schedulePump()
  }

  #onExternal(changes: readonly StorageChange[]): void {
    for (const change of changes) {
      if (change.ns === 'results') this.#notifyRecord(change.key)
      else if (change.ns === 'revoked') this.#syncRevoked(change.key)
      else if (change.ns === 'messages' && this.#consuming && !this.#known.has(change.key) && !this.#running.has(change.key)) this.#adopt(change.key)
    }
  }

  /** A message another handle sent: queue it here, unless it is already leased or gone. */
  #adopt(id: string): void {
    this.#pendingOps++
    this.#store().get('messages', id).then(
      (value) => {
        const message = value as TaskMessage | undefined
        if (message !== undefined && !message.leased && !this.#known.has(id) && !this.#closed) {
          if (message.seq > this.#seq) this.#seq = message.seq
          this.#known.add(id)
          this.#scheduler.add(message)
          this.#schedulePump()
        }
        this.#opDone()
      },
      () => this.#opDone(),
    )
  }

  /** Another handle revoked an id, or forgot one: its stored entry is the truth. */
  #syncRevoked(id: string): void {
    this.#pendingOps++
    this.#store().get('revoked', id).then(
      (value) => {
        this.#revoked.sync(id, value)
        this.#opDone()
      },
      () => this.#opDone(),
    )
  }

  /** Stops consuming, waits for running tasks (up to `timeout`), closes executor and storage. */
  async stop(timeout: number | undefined): Promise<void> {
    this.#consuming = false
    this.#scheduler.close()
    if (this.#running.size > 0) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
      if (timeout === undefined) await idle
      else {
        let timer: ReturnType<typeof setTimeout> | undefined
        // Real time on purpose: shutdown is about the process, not the engine's clock.
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))
        await Promise.race([idle, late])
        clearTimeout(timer)
      }
      for (const run of this.#running.values()) {
        this.#executor.post({ type: 'cancel', id: run.message.id, reason: 'shutdown' })
      }
    }
    await this.#drainOps()
    for (const timer of this.#rpcTimers) this.clock.clearTimer(timer)
    for (const timer of this.#rateTimers) this.clock.clearTimer(timer)
    if (this.#purgeTimer !== undefined) this.clock.clearTimer(this.#purgeTimer)
    for (const run of this.#running.values()) for (const t of run.timers) this.clock.clearTimer(t)
    this.#detachClock?.()
    this.#unwatch?.()
    this.#unsubscribeNetwork?.()
    this.#closed = true
    await this.#executor.stop()
    await this.#storage.close()
  }

  /** Resolves when nothing runs and nothing is ready to run. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /**
   * Counts `work` (a storage call made for the app itself, e.g. `app.locks`) as engine work until
   * it settles, so the virtual clock does not move while it is in flight.
   */
  hold<T>(work: Promise<T>): Promise<T> {
    this.#pendingOps++
    return work.finally(() => this.#opDone())
  }

  /** Resolves when nothing can happen without moving the clock (virtual clock's `advance`). */
  whenQuiet(): Promise<void> {
    if (this.#isQuiet()) return Promise.resolve()
    return new Promise((resolve) => this.#quietWaiters.push(resolve))
  }

  // ---- sending ---------------------------------------------------------------------------

  /**
   * Sends a signature (JSON form) as a new root or as a child of `context`; resolves with
   * `wrap(handle)` once its messages are stored.
   */
  send<T>(json: SignatureJSON, context: MessageContext, dedupeId: string | undefined, wrap: (handle: HandleJSON) => T): Promise<T> {
    if (dedupeId !== undefined) {
      return this.#exists(dedupeId).then((exists) => (exists ? wrap({ kind: 'result', id: dedupeId, parent: null }) : this.#sendNew(json, context, wrap)))
    }
    return this.#sendNew(json, context, wrap)
  }

  // Promise chains, not async functions, on the send path: each async layer costs a promise per task.
  #sendNew<T>(json: SignatureJSON, context: MessageContext, wrap: (handle: HandleJSON) => T): Promise<T> {
    let expansion: Expansion
    try {
      expansion = this.#config.expand(json, context)
    } catch (error) {
      return Promise.reject(error)
    }
    const stored = this.enqueue(expansion.messages, expansion.mutations)
    // Queued already (volatile storage): one promise for the send, nothing waiting on another.
    if (stored === RESOLVED) return Promise.resolve(wrap(expansion.handle))
    return stored.then(() => wrap(expansion.handle))
  }

  /**
   * Sends one task message as a new root (the common `delay()`, with no canvas to expand and no
   * taskId to dedupe); resolves with its handle once it is stored.
   */
  sendMessage(message: TaskMessage): Promise<AsyncResult<unknown>> {
    const stored = this.enqueue([message])
    const handle = new AsyncResult(message.id, this)
    return stored === RESOLVED ? Promise.resolve(handle) : stored.then(() => handle)
  }

  /**
   * Whether queued messages are written to storage. Volatile storage (memory) survives nothing
   * and is read by no one else, so a consuming engine's scheduler is the only copy that matters;
   * a producer writes them for whichever app consumes the storage later.
   */
  #storesMessages(): boolean {
    return !this.#volatile || !this.#consuming
  }

  /**
   * Stores messages (and extra writes) in one call, then schedules them. Returns `RESOLVED`
   * itself when nothing had to be written (they are scheduled already).
   */
  enqueue(messages: readonly TaskMessage[], extra: readonly Mutation[] = EMPTY): Promise<void> {
    if (!this.#storesMessages()) {
      for (const message of messages) message.seq = ++this.#seq
      if (extra.length === 0) {
        this.#schedule(messages)
        return RESOLVED
      }
    }
    const mutations: Mutation[] = extra.length === 0 ? [] : [...extra]
    this.#putFollowUps(mutations, messages)
    // With the other sends (and commits) of this tick: one storage call, one promise for all.
    this.#commitThen(mutations, this.#scheduleSent, messages)
    return (this.#batchWritten ??= deferred()).promise
  }

  readonly #scheduleSent = (messages: readonly TaskMessage[]): void => this.#schedule(messages)

  /**
   * Queues messages that are already stored. `sentEvents: false` for a retry or a requeue: the
   * same task goes on (its events read sent, received, started, retried, started, ...), it is not
   * sent anew.
   */
  #schedule(messages: readonly TaskMessage[], sentEvents = true): void {
    const emit = sentEvents && this.#config.events.listenerCount('task-sent') > 0
    for (let i = 0; i < messages.length; i++) this.#scheduleOne(messages[i]!, emit)
    this.#schedulePump()
  }

  #scheduleOne(message: TaskMessage, emit: boolean): void {
    this.#known.add(message.id)
    // A revoked id that comes with an eta (a countdown send, a retry) is discarded at once, as a
    // Celery worker does on receipt; one that is ready now is caught by the pump.
    if (this.#consuming && message.eta !== null && this.#isRevoked(message.id) && message.eta > this.clock.now()) this.#finishUnrun([[message, 'revoked']])
    else if (this.#consuming) this.#scheduler.add(message)
    if (emit) {
      this.#config.events.emit('task-sent', {
        ...this.#eventBase(message),
        args: decode<unknown[]>(message.args),
        eta: message.eta,
        expires: message.expires,
        priority: message.priority,
      })
    }
  }

  async #exists(id: string): Promise<boolean> {
    if (this.#known.has(id)) return true
    return (await this.read(id)) !== undefined
  }

  // ---- results ---------------------------------------------------------------------------

  async read(id: string): Promise<ResultRecord | undefined> {
    const record = (await this.#store().get('results', id)) as ResultRecord | undefined
    if (record === undefined && this.#volatile) return this.#startedRecord(id)
    if (record !== undefined && record.expiresAt !== null && record.expiresAt <= this.clock.now()) return undefined
    return record
  }

  /** On volatile storage: the STARTED record a running task would have stored. */
  #startedRecord(id: string): ResultRecord | undefined {
    const run = this.#running.get(id)
    if (run === undefined || !run.started || run.settled) return undefined
    const task = this.#config.profile(run.message.task)
    if (task !== undefined && !task.trackStarted) return undefined
    return this.#record(run.message, STARTED, null, run.children)
  }

  watch(id: string, listener: (record: ResultRecord) => void): () => void {
    let set = this.#watchers.get(id)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(id, set)
    }
    set.add(listener)
    return () => {
      const current = this.#watchers.get(id)
      if (current === undefined) return
      current.delete(listener)
      if (current.size === 0) this.#watchers.delete(id)
    }
  }

  async forget(id: string): Promise<void> {
    await this.#store().write([{ op: 'delete', ns: 'results', key: id }])
    if (!this.#running.has(id)) this.#known.delete(id)
  }

  handle<T>(id: string): AsyncResult<T> {
    return new AsyncResult<T>(id, this)
  }

  /** {@link handleFromJSON} as a function value, made once. */
  readonly wrapHandle = (json: HandleJSON): unknown => this.handleFromJSON(json)

  /** Builds a handle from its JSON form. */
  handleFromJSON(json: HandleJSON): unknown {
    const parent = json.parent === null ? undefined : (this.handleFromJSON(json.parent) as AsyncResult<unknown>)
    if (json.kind === 'result') return new AsyncResult(json.id, this, parent)
    return new GroupResult(json.id, json.results.map((r) => this.handleFromJSON(r) as AsyncResult<unknown>), parent)
  }

  // ---- revoke ----------------------------------------------------------------------------

  async revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    const mutations = this.#revoked.add(ids)
    const idSet = new Set(ids)
    const removed = this.#scheduler.removeWhere((m) => idSet.has(m.id))
    removed.push(...this.#unpark((m) => idSet.has(m.id)))
    for (const message of removed) {
      this.#deleteMessage(mutations, message.id)
      mutations.push(this.#put(this.#record(message, REVOKED, encodeError(new TaskRevokedError(`Task ${message.id} was revoked`, 'revoked')))))
    }
    const terminated: Running[] = []
    const unstarted: Running[] = []
    for (const id of ids) {
      const run = this.#running.get(id)
      if (run === undefined || run.settled) continue
      run.revokedWhileRunning = true
      if (!run.started) unstarted.push(run)
      else if (options.terminate === true) terminated.push(run)
    }
    await this.#commit(mutations)
    await this.#countParts(removed.filter((m) => m.chord !== null))
    for (const message of removed) {
      this.#known.delete(message.id)
      this.#notifyRecord(message.id)
      this.#emit('task-revoked', message, { reason: 'revoked' })
    }
    for (const run of unstarted) {
      // Prefetched but not started: it never runs (the worker drops it).
      this.#executor.post({ type: 'cancel', id: run.message.id, reason: 'revoked' })
      await this.#settleAbandoned(run, REVOKED, new TaskRevokedError(`Task ${run.message.id} was revoked`, 'revoked'), 'revoked')
    }
    for (const run of terminated) {
      this.#cancel(run, 'terminated')
      await this.#settleAbandoned(run, REVOKED, new TaskRevokedError(`Task ${run.message.id} was terminated`, 'terminated'))
    }
  }

  /**
   * Tells the runtime to abort the run's signal. A task sleeping on the clock wakes at once, as
   * Celery's soft time limit interrupts `time.sleep`: its `self.sleep` then throws the reason.
   */
  #cancel(run: Running, reason: 'soft-time-limit' | 'terminated'): void {
    this.#executor.post({ type: 'cancel', id: run.message.id, reason })
    if (run.sleeps !== undefined) for (const wake of [...run.sleeps]) wake()
  }

  // ---- dispatch --------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#consuming) return
    this.#pumpScheduled = true
    microtask(() => this.#pump())
  }

  #pump(): void {
    this.#pumpScheduled = false
    if (!this.#consuming) return this.#checkWaiters()
    const now = this.clock.now()
    let batch: TaskMessage[] | undefined
    let unrun: Array<[TaskMessage, 'revoked' | 'expired']> | undefined
    for (const name of this.#scheduler.queueNames()) {
      const queue: ReadyQueue = this.#scheduler.queue(name)
      if (queue.size === 0) continue
      const limit = this.#config.concurrency(name)
      let running = this.#runningPerQueue.get(name) ?? 0
      while (running < limit) {
        const message = this.#scheduler.take(queue)
        if (message === undefined) break
        if (this.#isRevoked(message.id)) (unrun ??= []).push([message, 'revoked'])
        else if (message.expires !== null && now >= message.expires) (unrun ??= []).push([message, 'expired'])
        else if (this.#config.profile(message.task)?.requires === 'online' && !this.#config.network.isOnline()) this.#offline.push(message)
        else if (!this.#takeToken(message, now)) continue
        else {
          running++
          ;(batch ??= []).push(message)
        }
      }
      this.#runningPerQueue.set(name, running)
    }
    if (unrun !== undefined) this.#finishUnrun(unrun)
    if (batch !== undefined) this.#startBatch(batch)
    this.#checkWaiters()
  }

  /** Takes the task's rate-limit token, or parks the message until the next token (others pass it). */
  #takeToken(message: TaskMessage, now: number): boolean {
    const name = message.task
    if (!this.#rates.has(name)) {
      const task = this.#config.profile(name)
      this.#rates.set(name, parseRate(task?.rateLimit ?? null, `rate limit of '${name}'`))
    }
    const due = this.#rates.take(name, now)
    if (due === 0) return true
    let parked = this.#rateParked.get(name)
    if (parked === undefined) {
      parked = []
      this.#rateParked.set(name, parked)
      const timer = this.clock.setTimer(due, () => {
        this.#rateTimers.delete(timer)
        const waiting = this.#rateParked.get(name) ?? []
        this.#rateParked.delete(name)
        if (!this.#consuming) return
        for (const m of waiting) this.#scheduler.add({ ...m, eta: null })
        this.#schedulePump()
      })
      this.#rateTimers.add(timer)
    }
    parked.push(message)
    return false
  }

  /** Overrides a task's time limits for runs that start from now on. */
  setTimeLimit(name: string, soft: number | null, hard: number | null): void {
    this.#timeLimits.set(name, { soft, hard })
  }

  /** Changes a task's rate limit live (`app.control.rateLimit`). */
  setRateLimit(name: string, interval: number | null): void {
    this.#rates.set(name, interval)
    // Parked messages get a fresh look at the new rate at once.
    const waiting = this.#rateParked.get(name)
    if (waiting !== undefined) {
      this.#rateParked.delete(name)
      for (const m of waiting) this.#scheduler.add({ ...m, eta: null })
    }
    this.#schedulePump()
  }

  #finishUnrun(items: Array<[TaskMessage, 'revoked' | 'expired']>): void {
    const mutations: Mutation[] = []
    for (const [message, reason] of items) {
      const error = new TaskRevokedError(`Task ${message.id} was ${reason === 'expired' ? 'not started before it expired' : 'revoked'}`, reason)
      this.#deleteMessage(mutations, message.id)
      mutations.push(this.#put(this.#record(message, REVOKED, encodeError(error))))
    }
    const parts = items.filter(([m]) => m.chord !== null).map(([m]) => m)
    const commit = parts.length === 0 ? this.#commit(mutations) : this.#commit(mutations).then(() => this.#countParts(parts))
    this.#track(commit, () => {
      for (const [message, reason] of items) {
        this.#known.delete(message.id)
        this.#notifyRecord(message.id)
        this.#emit('task-revoked', message, { reason })
      }
    })
  }

  #startBatch(batch: TaskMessage[]): void {
    const now = this.clock.now()
    const received = this.#config.events.listenerCount('task-received') > 0
    const runs = new Array<Running>(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i]!
      const run: Running = {
        message,
        startedAt: now,
        started: false,
        settled: false,
        parked: 0,
        hooks: false,
        children: EMPTY,
        timers: EMPTY,
        revokedWhileRunning: false,
        slotFreed: false,
        outcome: undefined,
        record: undefined,
        followUps: EMPTY,
        requeued: false,
      }
      runs[i] = run
      this.#running.set(message.id, run)
      // A retry continues the same task: it was received once.
      if (received && message.retries === 0) this.#config.events.emit('task-received', this.#eventBase(message))
    }
    if (this.#executor.reportsStart) {
      // A prefetching executor says when each task really starts (limits are armed then, and a
      // lost worker's unstarted runs go to another). The lease is durable before the runs leave,
      // though: a task must never start unrecorded, or a crash would run an early-ack task twice.
      // So after a crash, prefetched early-ack tasks fail with WorkerLostError like started ones
      // (Celery's early-ack risk, widened by the prefetch window); acksLate ones run again.
      const lease: Mutation[] = this.#volatile ? EMPTY : batch.map((message) => ({ op: 'put', ns: 'messages', key: message.id, value: { ...message, leased: true } }))
      this.#commitThen(lease, () => this.#dispatch(runs))
      return
    }
    this.#markStarted(runs, () => this.#dispatch(runs))
  }

  /** Hands the runs that are still on (none settled them meanwhile) to the executor, in one post. */
  #dispatch(runs: readonly Running[]): void {
    const jobs = []
    const hostname = this.#config.hostname
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (!run.settled) jobs.push({ message: run.message, hostname })
    }
    if (jobs.length > 0) this.#executor.post({ type: 'run', jobs })
  }

  /**
   * A worker said the run started: marked with the others that say so in this tick, in one
   * step. Anything else about a run waiting here (its state, its outcome) marks them first, so
   * its STARTED record always comes before what follows it.
   */
  #startSoon(run: Running): void {
    run.started = true
    run.startedAt = this.clock.now()
    this.#starting.push(run)
    if (this.#starting.length === 1) microtask(this.#startNow)
  }

  readonly #startNow = (): void => {
    if (this.#starting.length === 0) return
    const runs = this.#starting
    this.#starting = []
    this.#markStarted(runs)
  }

  /** Acks (or leases) started tasks and records STARTED, in one write; then arms their limits. */
  #markStarted(runs: readonly Running[], then?: () => void): void {
    const now = this.clock.now()
    const mutations: Mutation[] = []
    const records: Array<ResultRecord | undefined> | undefined = this.#volatile ? undefined : new Array<ResultRecord | undefined>(runs.length)
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      run.started = true
      run.startedAt = now
      if (records === undefined) continue
      const { message } = run
      // The message stays, leased, until the run ends: after a crash recovery runs an acksLate
      // task again (at least once) and fails an early-ack one with WorkerLostError (at most
      // once), continuing its chain, errbacks and chord as any failure does.
      mutations.push({ op: 'put', ns: 'messages', key: message.id, value: { ...message, leased: true } })
      const task = this.#config.profile(message.task)
      const state = task === undefined || task.trackStarted ? STARTED : PENDING
      const record = this.#record(message, state, null)
      records[i] = record
      mutations.push(this.#put(record))
    }
    this.#commitThen(mutations, () => {
      const started = this.#config.events.listenerCount('task-started') > 0
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i]!
        // It did start: say so even when its outcome came in while the ack was being stored
        // (the outcome's events wait for its own, later, commit).
        if (started) this.#config.events.emit('task-started', this.#eventBase(run.message))
        if (run.settled) continue
        this.#armLimits(run)
        // The record just stored, now: reading it back could deliver it after a later update of
        // the task (its progress), and progress() would see the state go backwards.
        const record = records?.[i]
        if (record !== undefined) this.#notify(record)
      }
      then?.()
    })
  }

  #armLimits(run: Running): void {
    const { message } = run
    const task = this.#config.profile(message.task)
    const override = this.#timeLimits.get(message.task)
    const soft = message.softTimeLimit ?? (override !== undefined ? override.soft : (task?.softTimeLimit ?? null))
    const hard = message.timeLimit ?? (override !== undefined ? override.hard : (task?.timeLimit ?? null))
    if (soft !== null) {
      if (run.timers === EMPTY) run.timers = []
      run.timers.push(
        this.clock.setTimer(run.startedAt + soft, () => {
          if (!run.settled) this.#cancel(run, 'soft-time-limit')
        }),
      )
    }
    if (hard !== null) {
      if (run.timers === EMPTY) run.timers = []
      run.timers.push(
        this.clock.setTimer(run.startedAt + hard, () => {
          if (run.settled) return
          this.#executor.post({ type: 'cancel', id: message.id, reason: 'time-limit' })
          void this.#settleAbandoned(run, FAILURE, new TimeLimitExceeded(`Task ${message.task}[${message.id}] exceeded its time limit of ${String(hard)} ms`))
        }),
      )
    }
  }

  /** Ends a run the engine gave up on (terminate, hard limit): stores the state, frees the slot. */
  async #settleAbandoned(run: Running, state: State, error: Error, reason: 'revoked' | 'terminated' = 'terminated'): Promise<void> {
    if (run.settled) return
    this.#startNow()
    run.settled = true
    const { message } = run
    const mutations: Mutation[] = [this.#put(this.#record(message, state, encodeError(error), run.children))]
    this.#deleteMessage(mutations, message.id)
    if (state === FAILURE) this.#failChain(message, encodeError(error), mutations)
    const followUps = state === FAILURE ? this.#errbacks(message, mutations) : []
    this.#putFollowUps(mutations, followUps)
    await this.#track(this.#commitPart(message, false, mutations), () => {
      this.#release(run)
      this.#schedule(followUps)
      this.#notifyRecord(message.id)
      for (const step of message.chain) if (state === FAILURE && typeof step.options.taskId === 'string') this.#notifyRecord(step.options.taskId)
      if (state === REVOKED) this.#emit('task-revoked', message, { reason })
      else this.#emit('task-failed', message, { error, runtime: this.clock.now() - run.startedAt })
    })
  }

  // ---- from the runtime ------------------------------------------------------------------

  #receive(message: FromRuntime): void {
    if (this.#closed) return
    switch (message.type) {
      case 'started': {
        const run = this.#running.get(message.id)
        if (run !== undefined && !run.settled && !run.started) this.#startSoon(run)
        return
      }
      case 'state':
        return this.#onState(message.id, message.state, message.meta)
      case 'outcome':
        return this.#onOutcome(message.id, message.outcome, message.hooks)
      case 'finished': {
        const run = this.#running.get(message.id)
        if (run !== undefined && run.hooks) {
          run.hooks = false
          this.#release(run)
        }
        return
      }
      case 'rpc':
        return this.#onRpc(message.id, message.requestId, message.call)
      case 'log':
        this.#config.events.emit('log', { id: message.id, level: message.level, text: message.text })
        return
    }
  }

  #onState(id: string, state: State, meta: Encoded): void {
    this.#startNow()
    const run = this.#running.get(id)
    if (run === undefined || run.settled) return
    const record = this.#record(run.message, state, meta, run.children)
    this.#commitThen([this.#put(record)], () => {
      this.#notify(record)
      if (this.#config.events.listenerCount('task-progress') > 0) {
        this.#config.events.emit('task-progress', { ...this.#eventBase(run.message), state, meta: decode(meta) })
      }
    })
  }

  #onOutcome(id: string, outcome: Outcome, hooks: boolean): void {
    this.#startNow()
    const run = this.#running.get(id)
    if (run === undefined || run.settled) {
      // Settled earlier (terminated, timed out): the late outcome is ignored, hooks may finish.
      if (hooks) this.#executor.post({ type: 'committed', id })
      return
    }
    run.settled = true
    const timers = run.timers
    for (let i = 0; i < timers.length; i++) this.clock.clearTimer(timers[i]!)
    const { message } = run
    const mutations: Mutation[] = []
    let followUps: TaskMessage[] = EMPTY
    let record: ResultRecord | undefined
    let requeued = false
    switch (outcome.type) {
      case 'success': {
        if (!message.ignoreResult) record = this.#record(message, SUCCESS, outcome.value, run.children)
        else mutations.push({ op: 'delete', ns: 'results', key: id })
        followUps = this.#successors(message, outcome.value, mutations)
        break
      }
      case 'failure': {
        record = this.#record(message, FAILURE, outcome.error, run.children)
        this.#failChain(message, outcome.error, mutations)
        followUps = this.#errbacks(message, mutations)
        break
      }
      case 'retry': {
        const now = this.clock.now()
        // Full jitter, inclusive of both ends as in Celery; drawn here so a seeded random works in any executor.
        const countdown = outcome.jitter ? Math.floor(this.#config.random() * ((outcome.countdown ?? 0) + 1)) : (outcome.countdown ?? 0)
        const eta = outcome.eta ?? now + countdown
        record = this.#record(message, RETRY, outcome.error, run.children)
        followUps = [{ ...message, retries: message.retries + 1, eta, leased: false }]
        requeued = true
        break
      }
      case 'ignore':
        mutations.push({ op: 'delete', ns: 'results', key: id })
        break
      case 'reject': {
        if (outcome.requeue) {
          followUps = [{ ...message, leased: false, redelivered: true }]
          requeued = true
          mutations.push({ op: 'delete', ns: 'results', key: id })
        } else {
          record = this.#record(message, FAILURE, outcome.error, run.children)
        }
        break
      }
    }
    if (record !== undefined) mutations.push(this.#put(record))
    if (!requeued) this.#deleteMessage(mutations, id)
    this.#putFollowUps(mutations, followUps)
    run.hooks = hooks
    run.outcome = outcome
    run.record = record
    run.followUps = followUps
    run.requeued = requeued
    if (!hooks) this.#freeSlot(run)
    const counts = outcome.type === 'success' || outcome.type === 'failure' || (outcome.type === 'reject' && !outcome.requeue)
    // A failed step of a chain inside a chord header counts for the chord in its last step's place.
    const part = outcome.type === 'failure' && message.chord === null ? chainMembership(message) : message
    const ok = counts ? outcome.type === 'success' : null
    if (part.chord === null || ok === null) this.#commitThen(mutations, this.#afterOutcome, run)
    else void this.#track(this.#commitPart(part, ok, mutations), () => this.#afterOutcome(run))
  }

  /** What follows the commit of a run's outcome (a shared function, not a closure per run: it is on every task's path). */
  readonly #afterOutcome = (run: Running): void => {
    const { message, record, followUps, requeued } = run
    const outcome = run.outcome!
    const id = message.id
    if (!requeued) this.#known.delete(id)
    if (run.hooks) this.#executor.post({ type: 'committed', id })
    else this.#release(run)
    if (followUps.length > 0) this.#schedule(followUps, !requeued)
    if (record !== undefined) this.#notify(record)
    else this.#notifyRecord(id)
    if (outcome.type === 'failure') for (const step of message.chain) if (typeof step.options.taskId === 'string') this.#notifyRecord(step.options.taskId)
    this.#emitOutcome(run, outcome, followUps)
  }

  #emitOutcome(run: Running, outcome: Outcome, followUps: TaskMessage[]): void {
    const { message } = run
    const runtime = this.clock.now() - run.startedAt
    switch (outcome.type) {
      case 'success':
        if (this.#config.events.listenerCount('task-succeeded') > 0) this.#emit('task-succeeded', message, { result: decode(outcome.value), runtime })
        return
      case 'failure':
        if (this.#config.events.listenerCount('task-failed') > 0) this.#emit('task-failed', message, { error: decodeError(outcome.error), runtime })
        return
      case 'retry':
        this.#emit('task-retried', message, {
          error: outcome.error === null ? null : decodeError(outcome.error),
          eta: followUps[0]?.eta ?? this.clock.now(),
        })
        return
      case 'reject':
        this.#emit('task-rejected', message, { requeue: outcome.requeue })
        return
      case 'ignore':
        return
    }
  }

  /** The next chain step and link callbacks after a success; their extra writes (a chord's counter) go to `mutations`. */
  #successors(message: TaskMessage, value: Encoded, mutations: Mutation[]): TaskMessage[] {
    if (message.chain.length === 0 && message.links.length === 0) return EMPTY
    const out: TaskMessage[] = []
    const context = (chain: SignatureJSON[]): MessageContext => ({
      prepend: [value],
      parentId: message.id,
      rootId: message.rootId,
      headers: message.headers,
      chain,
      groupId: null,
      groupIndex: null,
      chord: null,
    })
    const [next, ...rest] = message.chain
    const add = (expansion: Expansion): void => {
      out.push(...expansion.messages)
      mutations.push(...expansion.mutations)
    }
    if (next !== undefined) add(this.#config.expand(next, context(rest)))
    for (const link of message.links) add(this.#config.expand(link, context([])))
    return out
  }

  /** Errback messages: the failed task's id prepended to each errback's args. */
  #errbacks(message: TaskMessage, mutations: Mutation[]): TaskMessage[] {
    if (message.linkErrors.length === 0) return EMPTY
    const out: TaskMessage[] = []
    for (const errback of message.linkErrors) {
      const expansion = this.#config.expand(errback, {
        prepend: [message.id],
        parentId: message.id,
        rootId: message.rootId,
        headers: message.headers,
        chain: [],
        groupId: null,
        groupIndex: null,
        chord: null,
      })
      out.push(...expansion.messages)
      mutations.push(...expansion.mutations)
    }
    return out
  }

  /** Celery 5: the chain's later steps are stored FAILURE with the same error. */
  #failChain(message: TaskMessage, error: Encoded, mutations: Mutation[]): void {
    for (const step of message.chain) {
      const id = step.options.taskId
      if (typeof id !== 'string') continue
      mutations.push(
        this.#put({
          ...this.#record(message, FAILURE, error),
          id,
          task: step.task,
          parentId: message.id,
          retries: 0,
        }),
      )
    }
  }

  /**
   * Commits `mutations`; for a chord header task (`ok` not null) in the same atomic step counts
   * it (once, even if re-delivered), and when it is the last one, finishes the chord.
   */
  #commitPart(message: TaskMessage, ok: boolean | null, mutations: Mutation[]): Promise<void> {
    const ref = message.chord
    if (ref === null || ok === null) return this.#commit(mutations)
    const marker = `${ref.id}#${String(ref.index)}`
    return this.#store()
      .transact([{ ns: 'chords', key: ref.id }, { ns: 'chords', key: marker }], ([value, seen]) => {
        if (value === undefined || seen !== undefined) return { mutations, result: false }
        const record = value as ChordRecord
        const failedIndex = !ok && (record.failedIndex === null || ref.index < record.failedIndex) ? ref.index : record.failedIndex
        const next: ChordRecord = { ...record, count: record.count + 1, failedIndex, lastId: message.id }
        return {
          mutations: [...mutations, { op: 'put', ns: 'chords', key: marker, value: ok }, { op: 'put', ns: 'chords', key: ref.id, value: next }],
          result: next.count >= next.size,
        }
      })
      .then((complete) => (complete ? this.#finishChord(ref.id) : undefined))
  }

  async #countParts(messages: TaskMessage[]): Promise<void> {
    for (const message of messages) await this.#commitPart(message, false, [])
  }

  /** Every header task is in: send the body with their results, or fail it with ChordError. */
  async #finishChord(chordId: string): Promise<void> {
    // Recovery and a live header task can both find a chord complete; one sends its body. The
    // record is deleted in the same commit that sends the body, so across a crash it is either
    // still there (and finished again) or gone with the body sent.
    if (this.#finishingChords.has(chordId)) return
    this.#finishingChords.add(chordId)
    try {
      await this.#sendChordBody(chordId)
    } finally {
      this.#finishingChords.delete(chordId)
    }
  }

  async #sendChordBody(chordId: string): Promise<void> {
    const record = (await this.#store().get('chords', chordId)) as ChordRecord | undefined
    if (record === undefined) return
    const context: MessageContext = {
      prepend: null,
      // The header task whose completion sends the body (a record stored before lastId has none).
      parentId: record.lastId ?? null,
      rootId: record.rootId,
      headers: record.headers,
      chain: record.chain,
      groupId: null,
      groupIndex: null,
      chord: null,
    }
    const cleanup: Mutation[] = [{ op: 'delete', ns: 'chords', key: chordId }]
    for (let i = 0; i < record.size; i++) cleanup.push({ op: 'delete', ns: 'chords', key: `${chordId}#${String(i)}` })
    let messages: TaskMessage[]
    const mutations: Mutation[] = [...cleanup]
    if (record.failedIndex === null) {
      const values: Encoded[] = []
      for (const id of record.ids) values.push((await this.read(id))?.result ?? null)
      const expansion = this.#config.expand(record.body, { ...context, prepend: [values] })
      messages = expansion.messages
      mutations.push(...expansion.mutations)
    } else {
      const failedId = record.ids[record.failedIndex]!
      const failed = await this.read(failedId)
      const cause = failed?.result != null ? decodeError(failed.result) : new TaskRevokedError(`Task ${failedId} was revoked`)
      const error = new ChordError(`Dependency ${failedId} raised ${cause.name}: ${cause.message}`, failedId, { cause })
      const encoded = encodeError(error)
      const [body] = this.#config.expand(record.body, context).messages
      messages = []
      if (body !== undefined) {
        mutations.push(this.#put(this.#record(body, FAILURE, encoded)))
        this.#failChain(body, encoded, mutations)
        messages = this.#errbacks(body, mutations)
      }
    }
    this.#putFollowUps(mutations, messages)
    await this.#commit(mutations)
    this.#schedule(messages)
    const bodyId = finalIdOf(record.body)
    this.#notifyRecord(bodyId)
    for (const step of record.chain) if (typeof step.options.taskId === 'string') this.#notifyRecord(step.options.taskId)
  }

  #release(run: Running): void {
    const { message } = run
    if (this.#running.get(message.id) !== run) return
    this.#running.delete(message.id)
    this.#parked -= run.parked
    const timers = run.timers
    for (let i = 0; i < timers.length; i++) this.clock.clearTimer(timers[i]!)
    this.#freeSlot(run)
    this.#schedulePump()
  }

  /**
   * Gives the run's queue slot back. Done as soon as its body is over (the outcome is in and no
   * hooks are left), before the outcome is stored: the next runs' start records then join the
   * same commit as this outcome (one fsync for both on file storage), and they still start only
   * after it is stored, since their start waits for that commit.
   */
  #freeSlot(run: Running): void {
    if (run.slotFreed) return
    run.slotFreed = true
    const queue = run.message.queue
    this.#runningPerQueue.set(queue, (this.#runningPerQueue.get(queue) ?? 1) - 1)
    this.#schedulePump()
  }

  // ---- RPC from running tasks ------------------------------------------------------------

  #onRpc(id: string, requestId: number, call: RpcCall): void {
    const reply = (ok: boolean, value: unknown): void => {
      this.#executor.post({ type: 'rpc-reply', id, requestId, ok, value: ok ? encode(value, 'reply') : encodeError(value) })
    }
    const run = this.#running.get(id)
    switch (call.type) {
      case 'sleep': {
        if (run !== undefined && !run.settled) {
          run.parked++
          this.#parked++
        }
        const wake = (): void => {
          this.clock.clearTimer(timer)
          this.#rpcTimers.delete(timer)
          run?.sleeps?.delete(wake)
          if (run !== undefined && this.#running.get(id) === run) {
            run.parked--
            this.#parked--
          }
          reply(true, null)
        }
        const timer = this.clock.setTimer(this.clock.now() + Math.max(0, call.ms), wake)
        this.#rpcTimers.add(timer)
        if (run !== undefined) (run.sleeps ??= new Set()).add(wake)
        this.#checkWaiters()
        return
      }
      case 'send': {
        const parent = run?.message
        const json = call.signature
        const context: MessageContext = {
          prepend: null,
          parentId: parent?.id ?? null,
          rootId: parent?.rootId ?? null,
          headers: parent?.headers ?? null,
          chain: [],
          groupId: null,
          groupIndex: null,
          chord: null,
        }
        const dedupe = typeof json.options.taskId === 'string' ? json.options.taskId : undefined
        this.#pendingOps++
        this.send(json, context, dedupe, identity).then(
          (handle) => {
            if (run !== undefined) run.children = [...run.children, ...handleIds(handle)]
            reply(true, handle)
            this.#opDone()
          },
          (error: unknown) => {
            reply(false, error)
            this.#opDone()
          },
        )
        return
      }
      default: {
        const handler = this.#config.rpc
        if (handler === undefined) return reply(false, new ConfigError(`Unsupported call '${call.type}' from a task`))
        this.#pendingOps++
        // A call that waits on the clock (a lock held elsewhere) parks the task like self.sleep:
        // while it waits it is not engine work, so virtual time can move.
        const park = (waiting: boolean): void => {
          const counted = run !== undefined && this.#running.get(id) === run
          if (waiting) {
            this.#pendingOps--
            if (counted) {
              run.parked++
              this.#parked++
            }
            this.#checkWaiters()
          } else {
            this.#pendingOps++
            if (counted) {
              run.parked--
              this.#parked--
            }
          }
        }
        handler(call, id, park).then(
          (value) => {
            reply(true, value)
            this.#opDone()
          },
          (error: unknown) => {
            reply(false, error)
            this.#opDone()
          },
        )
      }
    }
  }

  // ---- recovery --------------------------------------------------------------------------

  /** Loads queued messages; a task that was running when the process died is resolved per DESIGN §4. */
  async #recover(): Promise<void> {
    const messages = (await this.#store().entries('messages')).map(([, m]) => m as TaskMessage)
    const results = await this.#store().entries('results')
    const queued = new Set<string>()
    // Revokes past their expiry or beyond the bound are forgotten, in storage too.
    const mutations = this.#revoked.load(await this.#store().entries('revoked'))
    const requeue: TaskMessage[] = []
    messages.sort((a, b) => a.seq - b.seq)
    const lost: TaskMessage[] = []
    for (const message of messages) {
      if (message.seq > this.#seq) this.#seq = message.seq
      queued.add(message.id)
      if (message.leased && !message.acksLate) lost.push(message)
      else if (message.leased) {
        // acksLate: it was running; run it again (at least once).
        const again = { ...message, leased: false, redelivered: true }
        mutations.push({ op: 'put', ns: 'messages', key: message.id, value: again })
        requeue.push(again)
      } else requeue.push(message)
    }
    for (const [id, value] of results) {
      const record = value as ResultRecord
      if (READY_STATES.has(record.state) || queued.has(id)) continue
      // Not ready, not queued: it was running when the process died, acked early.
      const error = new WorkerLostError(`Task ${record.task}[${id}] was running when its worker was lost`)
      mutations.push(this.#put({ ...record, state: FAILURE, result: encodeError(error), dateDone: this.clock.now() }))
    }
    if (mutations.length > 0) await this.#store().write(mutations)
    if (this.#consuming) for (const message of requeue) this.#scheduler.add(message)
    for (const message of requeue) this.#known.add(message.id)
    for (const message of lost) await this.#failLost(message)
    // A chord whose last header task was counted just before a crash still sends its body.
    for (const [key, value] of await this.#store().entries('chords')) {
      if (key.includes('#')) continue
      const record = value as ChordRecord
      if (record.count >= record.size) await this.#finishChord(key)
    }
    await this.#purgeExpired(results)
  }

  /** Deletes expired result records (they already read as PENDING), then again every interval. */
  async #purgeExpired(known?: ReadonlyArray<[string, StoredValue]>): Promise<void> {
    this.#purgeTimer = undefined
    try {
      await this.hold(purgeExpiredResults(this.#store(), this.clock.now(), known))
    } catch (error) {
      this.#config.events.emit('log', { id: '', level: 'error', text: `Purging expired results failed: ${String(error)}` })
    }
    if (!this.#consuming || this.#closed) return
    const at = this.clock.now() + purgeInterval(this.#config.resultExpires)
    this.#purgeTimer = this.clock.setTimer(at, () => void this.#purgeExpired(), { background: true })
  }

  /** An early-ack task that was running when the process died: it fails as any failure does. */
  async #failLost(message: TaskMessage): Promise<void> {
    const error = encodeError(new WorkerLostError(`Task ${message.task}[${message.id}] was running when its worker was lost`))
    const mutations: Mutation[] = [this.#put(this.#record(message, FAILURE, error)), { op: 'delete', ns: 'messages', key: message.id }]
    this.#failChain(message, error, mutations)
    const followUps = this.#errbacks(message, mutations)
    this.#putFollowUps(mutations, followUps)
    await this.#commitPart(message.chord === null ? chainMembership(message) : message, false, mutations)
    this.#schedule(followUps)
  }

  // ---- helpers ---------------------------------------------------------------------------

  #record(message: TaskMessage, state: State, result: Encoded | null, children: string[] = EMPTY): ResultRecord {
    const now = this.clock.now()
    const ready = READY_STATES.has(state)
    return {
      id: message.id,
      task: message.task,
      state,
      result,
      traceback: state === FAILURE || state === RETRY ? tracebackOf(result) : null,
      dateDone: ready ? now : null,
      retries: message.retries,
      parentId: message.parentId,
      rootId: message.rootId,
      groupId: message.groupId,
      children,
      expiresAt: ready ? now + this.#config.resultExpires : null,
      acksLate: message.acksLate,
    }
  }

  #put(record: ResultRecord): Mutation {
    return { op: 'put', ns: 'results', key: record.id, value: record }
  }

  /** Checked for every message: most apps revoke nothing, and the cache's `has` costs an object per call. */
  #isRevoked(id: string): boolean {
    return this.#revoked.size > 0 && this.#revoked.has(id)
  }

  #putMessage(mutations: Mutation[], message: TaskMessage): void {
    if (this.#storesMessages()) mutations.push({ op: 'put', ns: 'messages', key: message.id, value: message })
  }

  #deleteMessage(mutations: Mutation[], id: string): void {
    if (this.#storesMessages()) mutations.push({ op: 'delete', ns: 'messages', key: id })
  }

  /** Numbers new messages (FIFO order) and stores them with `mutations`. */
  #putFollowUps(mutations: Mutation[], messages: readonly TaskMessage[]): void {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!
      m.seq = ++this.#seq
      this.#putMessage(mutations, m)
    }
  }

  #commit(mutations: Mutation[]): Promise<void> {
    if (mutations.length === 0) return Promise.resolve()
    return this.#store().write(mutations)
  }

  /**
   * The storage, for a call made now: the commits of this tick that wait in the batch (see
   * {@link #commitThen}) are issued first, so every call reaches storage in the order the
   * engine made it (adapters apply calls in call order).
   */
  #store(): Storage {
    if (this.#batchThens.length > 0) this.#flushBatch()
    return this.#storage
  }

  /**
   * Stores `mutations` together with the other commits of this tick (one storage call, one
   * promise for all of them, instead of one each), then runs `then(arg)`. For sends and for the
   * writes that follow every run (STARTED, outcomes, progress, leases). `then` is a shared
   * function given the run or messages as `arg`, so the hot paths make no closure per task.
   */
  #commitThen<T>(mutations: readonly Mutation[], then: (arg: T) => void, arg?: T): void {
    for (let i = 0; i < mutations.length; i++) this.#batch.push(mutations[i]!)
    this.#batchThens.push(then as (arg: unknown) => void)
    this.#batchArgs.push(arg)
    if (this.#batchScheduled) return
    this.#batchScheduled = true
    // Counted as engine work until it is issued: the clock and whenIdle wait for it.
    this.#pendingOps++
    microtask(this.#flushBatchSoon)
  }

  readonly #flushBatchSoon = (): void => {
    this.#batchScheduled = false
    this.#flushBatch()
    this.#opDone()
  }

  #flushBatch(): void {
    const thens = this.#batchThens
    if (thens.length === 0) return
    const mutations = this.#batch
    const args = this.#batchArgs
    const written = this.#batchWritten
    this.#batch = []
    this.#batchThens = []
    this.#batchArgs = []
    this.#batchWritten = undefined
    this.#pendingOps++
    const write = mutations.length === 0 ? RESOLVED : this.#storage.write(mutations)
    write.then(
      () => {
        for (let i = 0; i < thens.length; i++) {
          try {
            thens[i]!(args[i])
          } catch (error) {
            this.#config.events.emit('log', { id: '', level: 'error', text: `celeriac: an engine step after a commit threw: ${String(error)}` })
          }
        }
        // The sends of the batch resolve after their messages are scheduled.
        written?.resolve()
        this.#opDone()
      },
      (error: unknown) => {
        this.#opDone()
        // Sends reject to their callers; the rest (outcomes, progress) has no caller: the log says it.
        written?.reject(error)
        this.#logWriteFailure(error)
      },
    )
  }

  /** Runs `then` after `op`, counting it as engine work until both are done. */
  #track(op: Promise<void>, then: () => void): Promise<void> {
    this.#pendingOps++
    return op.then(
      () => {
        try {
          then()
        } finally {
          this.#opDone()
        }
      },
      (error: unknown) => {
        // Work that follows a task (its outcome, its state updates) has no caller to reject to:
        // report it on the log event and keep the engine going.
        this.#opDone()
        this.#logWriteFailure(error)
      },
    )
  }

  #logWriteFailure(error: unknown): void {
    const wrapped = error instanceof StorageError ? error : new StorageError('A storage write failed', { cause: error })
    this.#config.events.emit('log', { id: '', level: 'error', text: `${wrapped.message}: ${String(error)}` })
  }

  #opDone(): void {
    this.#pendingOps--
    this.#checkWaiters()
  }

  async #drainOps(): Promise<void> {
    while (this.#pendingOps > 0) await new Promise<void>((resolve) => this.#quietWaiters.push(resolve))
  }

  #notify(record: ResultRecord): void {
    const set = this.#watchers.get(record.id)
    if (set === undefined) return
    for (const listener of [...set]) listener(record)
  }

  #notifyRecord(id: string): void {
    if (!this.#watchers.has(id)) return
    this.#pendingOps++
    this.#store().get('results', id).then(
      (record) => {
        if (record !== undefined) this.#notify(record as ResultRecord)
        this.#opDone()
      },
      () => this.#opDone(),
    )
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && this.#pendingOps === 0 && !this.#pumpScheduled && (!this.#consuming || this.#scheduler.readyCount === 0)
  }

  #isQuiet(): boolean {
    if (this.#pendingOps !== 0 || this.#pumpScheduled) return false
    if (this.#running.size === this.#parked) return true
    if (!this.#executor.reportsStart || this.#executor.startable === undefined) return false
    // Runs held by workers whose task slots are all taken by tasks parked on the clock cannot
    // start before time moves: they must not keep the clock from advancing.
    let started = 0
    for (const run of this.#running.values()) if (run.started) started++
    return started === this.#parked && !this.#executor.startable()
  }

  #checkWaiters(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
    if (this.#quietWaiters.length > 0 && this.#isQuiet()) {
      const waiters = this.#quietWaiters
      this.#quietWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  #eventBase(message: TaskMessage): TaskEventBase {
    return {
      id: message.id,
      name: message.task,
      timestamp: this.clock.now(),
      queue: message.queue,
      retries: message.retries,
      parentId: message.parentId,
      rootId: message.rootId,
    }
  }

  #emit<K extends 'task-revoked' | 'task-failed' | 'task-succeeded' | 'task-retried' | 'task-rejected'>(
    name: K,
    message: TaskMessage,
    extra: Omit<Parameters<CeleriacEvents[K]>[0], keyof TaskEventBase>,
  ): void {
    if (this.#config.events.listenerCount(name) === 0) return
    const payload = { ...this.#eventBase(message), ...extra } as Parameters<CeleriacEvents[K]>[0]
    ;(this.#config.events.emit as (n: K, p: typeof payload) => boolean)(name, payload)
  }

  // ---- inspection ------------------------------------------------------------------------

  /** Runs that started (Celery's active); one a worker holds but has not started is reserved. */
  active(): TaskMessage[] {
    return [...this.#running.values()].filter((r) => r.started && !r.settled).map((r) => r.message)
  }

  scheduled(): TaskMessage[] {
    return this.#scheduler.delayed()
  }

  reserved(): TaskMessage[] {
    const held = [...this.#running.values()].filter((r) => !r.started && !r.settled).map((r) => r.message)
    return [...held, ...this.#scheduler.ready(), ...[...this.#rateParked.values()].flat()]
  }

  /** Removes rate-parked messages that match. */
  #unpark(predicate: (message: TaskMessage) => boolean): TaskMessage[] {
    const removed: TaskMessage[] = []
    for (const [name, list] of this.#rateParked) {
      const kept = list.filter((m) => !predicate(m))
      if (kept.length !== list.length) {
        removed.push(...list.filter(predicate))
        this.#rateParked.set(name, kept)
      }
    }
    return removed
  }

  /** Drops every waiting message (of one queue, or all); returns how many. `app.control.purge`. */
  async purge(queue: string | undefined): Promise<number> {
    const match = (m: TaskMessage): boolean => queue === undefined || m.queue === queue
    const removed = [...this.#scheduler.removeWhere(() => true, queue), ...this.#unpark(match)]
    const deletes: Mutation[] = []
    for (const m of removed) this.#deleteMessage(deletes, m.id)
    await this.#commit(deletes)
    for (const m of removed) this.#known.delete(m.id)
    this.#checkWaiters()
    return removed.length
  }

  revokedIds(): string[] {
    return this.#revoked.ids()
  }

  stats(): { running: number; ready: number; scheduled: number; parked: number } {
    return {
      running: this.#running.size,
      ready: this.#scheduler.readyCount,
      scheduled: this.#scheduler.delayedCount,
      parked: this.#parked,
    }
  }
}

const identity = <T>(value: T): T => value

interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A batch whose sends all gave up waiting must not report an unhandled rejection.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

function chainMembership(message: TaskMessage): TaskMessage {
  for (const step of message.chain) {
    const ref = step.options.chordRef
    if (ref != null && typeof ref === 'object') return { ...message, chord: ref as TaskMessage['chord'] }
  }
  return message
}

function handleIds(handle: HandleJSON): string[] {
  if (handle.kind === 'result') return [handle.id]
  return handle.results.flatMap(handleIds)
}

