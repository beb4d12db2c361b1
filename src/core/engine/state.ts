/**
 * What the engine's rooms share: the configuration, the runs, the queues' counts, the ids known
 * here, and the count of work in flight with the waiters on it (idle, quiet). One instance per
 * engine, handed to every room in its constructor.
 */
import type { EventEmitter } from 'eventemitter3'
import type { Clock, TimerHandle } from '../time/clock.js'
import type { CeleriacEvents, TaskEventBase } from '../model/events.js'
import type { Executor } from '../executor/types.js'
import type { Expansion, MessageContext } from '../model/context.js'
import { NONE } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { ResultRecord, SignatureJSON, TaskMessage } from '../model/message.js'
import type { Outcome, RpcCall } from '../model/protocol.js'
import type { Network, TaskProfile } from '../model/options.js'
import { FAILURE, READY_STATES, RETRY } from '../model/states.js'
import type { State } from '../model/states.js'
import { tracebackOf } from '../serializer/decode.js'
import { YoungRecord } from '../model/young.js'
import { AfterRun } from './after-run.js'
import { Scheduler } from '../time/scheduler.js'
import { microtask } from '../time/microtask.js'
import type { Task } from '../task/task.js'
import type { Mutation, Storage } from '../../storage/types.js'
import { KnownIds } from './known-ids.js'
import { RevokedSet } from './revoked.js'
import { TransportStorage } from './transport-storage.js'

/** What a result record is made of, of its message. */
type RecordOf = Pick<TaskMessage, 'id' | 'task' | 'retries' | 'parentId' | 'rootId' | 'groupId' | 'acksLate'>

/** What the app hands the engine. */
export interface EngineConfig {
  readonly storage: Storage
  readonly executor: Executor
  readonly clock: Clock
  readonly hostname: string
  readonly concurrency: (queue: string) => number
  /** The queues the app declares: on a transport, a consumer listens on each from the start. */
  readonly queues: readonly string[]
  readonly resultExpires: number
  readonly consume: boolean
  /** Workers outside celeriac consume the broker (Transport.foreignWorkers): any task name may be sent. */
  readonly foreignWorkers?: boolean
  readonly network: Network
  /** A task registered here (the inline executor runs these). */
  readonly lookup: (name: string) => Task<never, unknown> | undefined
  /** What is known of a task's options, here or in the workers. */
  readonly profile: (name: string) => TaskProfile | undefined
  readonly random: () => number
  readonly events: EventEmitter<CeleriacEvents>
  /** Calls `watcher` each time a listener of `events` is added; returns how to stop. */
  readonly onListener?: (watcher: (event: keyof CeleriacEvents) => void) => () => void
  /** Answers the other calls a running task makes (locks, results). */
  readonly rpc?: (call: RpcCall, taskId: string, park: (waiting: boolean) => void) => Promise<unknown>
  /** Builds messages for a signature node (task or canvas; canvas/expand.ts). */
  readonly expand: (json: SignatureJSON, context: MessageContext) => Expansion
  /**
   * Called once the engine consumes (at start, or elected leader), after recovery and before the
   * first run is dispatched: the app starts firing its schedules, so that reading them does not
   * fall among the first runs' writes.
   */
  readonly onConsume?: () => Promise<void>
}

/** One run of a message handed to the executor, from dispatch until its outcome is stored. */
export interface Running {
  readonly message: TaskMessage
  startedAt: number
  /** Whether it really started (a prefetching executor may hold it first). */
  started: boolean
  /**
   * Counted started when it was sent to an idle worker (limits armed), but not recorded yet: its
   * lease and STARTED record wait for the worker's word that it began (RunStart `'record'`).
   */
  unrecorded: boolean
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
  /** Its end is stored (not requeued): only its hooks keep it here, its id is no longer known (KnownIds). */
  left: boolean
  /** Set with its outcome, for what follows its commit (see Outcomes.afterOutcome). */
  outcome: Outcome | undefined
  record: ResultRecord | undefined
  /** The result record its lease stored (STARTED): what its outcome's record is written over (EngineState.putOver). */
  leaseRecord: ResultRecord | undefined
  followUps: TaskMessage[]
  requeued: boolean
  /** When (engine clock) its last state update was stored (see ProgressWindow); -Infinity before the first. */
  progressAt: number
  /** Wakers of its waits on the engine (`self.sleep`, results), made on the first. */
  wakers?: Set<() => void>
}

/** A run of `message`, dispatched at `now`, not yet started. */
export function newRun(message: TaskMessage, now: number): Running {
  return {
    message,
    startedAt: now,
    started: false,
    unrecorded: false,
    settled: false,
    parked: 0,
    hooks: false,
    children: NONE,
    timers: NONE,
    revokedWhileRunning: false,
    slotFreed: false,
    left: false,
    outcome: undefined,
    record: undefined,
    leaseRecord: undefined,
    followUps: NONE,
    requeued: false,
    progressAt: Number.NEGATIVE_INFINITY,
  }
}

/** What `enqueue` returns when nothing had to be written: callers test for it to skip a promise. */
export const RESOLVED = Promise.resolve()

type OutcomeEvent = 'task-revoked' | 'task-failed' | 'task-succeeded' | 'task-retried' | 'task-rejected'

export class EngineState {
  readonly config: EngineConfig
  readonly clock: Clock
  readonly storage: Storage
  /** The app runs on a transport (a broker across processes): its storage is the transport's. */
  readonly transport: TransportStorage | undefined
  readonly events: EventEmitter<CeleriacEvents>
  /**
   * Storage that neither survives the process nor is shared (memory): leases and STARTED
   * records exist for crash recovery and for other readers, so here they are skipped and a
   * running task's STARTED state is read from the engine itself.
   */
  readonly volatile: boolean
  readonly executor: Executor
  readonly scheduler: Scheduler
  readonly running = new Map<string, Running>()
  /** Messages taken to run while a run of their id is still here: they wait for it to leave. */
  readonly afterRun = new AfterRun()
  /** Runs taking a slot of each queue's concurrency: a counter per queue, changed in place (every run's path). */
  readonly runningPerQueue = new Map<string, { count: number }>()
  /** Ids queued, scheduled or running here: taskId dedupe without a storage read. */
  readonly known: KnownIds
  /** Revoked ids, bounded and expiring like Celery's worker set; also kept in storage. */
  readonly revoked: RevokedSet
  /**
   * Queues paused (`app.control.pause`), with when (epoch ms): nothing is dispatched from them,
   * what they hold waits. Kept in storage by the Pauses room, which alone changes it.
   */
  readonly paused = new Map<string, number>()
  /** How many waits of runs are parked on the engine (`self.sleep`, a result, a lock held elsewhere). */
  parked = 0
  /** Storage calls and other work in flight: the clock and whenIdle wait for them. */
  pendingOps = 0
  pumpScheduled = false
  /** The last sequence number given (FIFO order among equal priorities). */
  seq = 0
  consuming: boolean
  /**
   * True while consuming starts (executor start and recovery): messages are scheduled but none is
   * dispatched, so recovery never sees a run of this engine as one a crash left behind.
   */
  recovering = false
  closed = false
  /** On a transport: consumes a queue from now on (set by the engine; see Deliveries). */
  listen: (queue: string) => void = () => undefined
  #idleWaiters: Array<() => void> = []
  #quietWaiters: Array<() => void> = []
  readonly #pump: () => void

  /**
   * `pump` hands ready messages to the executor (the dispatcher's; see {@link schedulePump});
   * `elsewhere` gives the ids of messages the rooms hold out of the scheduler and the runs (the
   * gates' held ones), for {@link known}.
   */
  constructor(config: EngineConfig, pump: () => void, elsewhere: () => Iterable<string>) {
    this.config = config
    this.clock = config.clock
    this.storage = config.storage
    this.transport = config.storage instanceof TransportStorage ? config.storage : undefined
    this.events = config.events
    this.volatile = !config.storage.capabilities.durable && !config.storage.capabilities.shared
    this.executor = config.executor
    this.consuming = config.consume
    this.scheduler = new Scheduler(config.clock, () => this.schedulePump())
    this.revoked = new RevokedSet(config.clock)
    this.#pump = pump
    // Memory storage, consuming: every id here is in the scheduler, the runs or `elsewhere`.
    this.known = new KnownIds(
      () => this.consuming && this.volatile && this.transport === undefined,
      () => this.#idsHere(elsewhere),
    )
  }

  *#idsHere(elsewhere: () => Iterable<string>): Iterable<string> {
    for (const message of this.scheduler.ready()) yield message.id
    for (const message of this.scheduler.delayed()) yield message.id
    for (const run of this.running.values()) if (!run.left) yield run.message.id
    yield* this.afterRun.ids()
    yield* elsewhere()
  }

  /** Runs the pump in a microtask, once however many ask in this tick. */
  schedulePump(): void {
    if (this.pumpScheduled || !this.consuming) return
    this.pumpScheduled = true
    microtask(this.#pump)
  }

  // ---- records and messages --------------------------------------------------------------

  /** A record of `message` (or of a task that was never sent: what a record needs of a message). */
  record(message: RecordOf, state: State, result: Encoded | null, children: string[] = NONE): ResultRecord {
    const ready = READY_STATES.has(state)
    // Read only for a ready record: a clock read costs ~0.2 µs in some VMs, and every durable
    // run's STARTED record is not ready.
    const now = ready ? this.clock.now() : 0
    // By `new`, not a literal: see model/young.ts.
    return new YoungRecord(
      message.id,
      message.task,
      state,
      result,
      state === FAILURE || state === RETRY ? tracebackOf(result) : null, // traceback
      ready ? now : null, // dateDone
      message.retries,
      message.parentId,
      message.rootId,
      message.groupId,
      children,
      ready ? now + this.config.resultExpires : null, // expiresAt
      message.acksLate,
    )
  }

  put(record: ResultRecord): Mutation {
    return { op: 'put', ns: 'results', key: record.id, value: record }
  }

  /**
   * The put of a run's `record` over `held`, the record its lease stored, given as the fields
   * that change too (Mutation's `base`): file storage journals those alone, not the whole record
   * a second time. The fields a run's records take from its message are checked, not assumed.
   */
  putOver(record: ResultRecord, held: ResultRecord): Mutation {
    if (
      record.id !== held.id ||
      record.task !== held.task ||
      record.retries !== held.retries ||
      record.parentId !== held.parentId ||
      record.rootId !== held.rootId ||
      record.groupId !== held.groupId ||
      record.acksLate !== held.acksLate
    ) {
      return this.put(record)
    }
    const changes: Partial<ResultRecord> = { state: record.state, result: record.result, dateDone: record.dateDone, expiresAt: record.expiresAt }
    if (record.traceback !== held.traceback) changes.traceback = record.traceback
    if (record.children !== held.children) changes.children = record.children
    return { op: 'put', ns: 'results', key: record.id, value: record, base: held, changes }
  }

  /** Checked for every message: most apps revoke nothing, and the cache's `has` costs an object per call. */
  isRevoked(id: string): boolean {
    return this.revoked.size > 0 && this.revoked.has(id)
  }

  /**
   * Whether queued messages are written to storage. Volatile storage (memory) survives nothing
   * and is read by no one else, so a consuming engine's scheduler is the only copy that matters;
   * a producer writes them for whichever app consumes the storage later.
   */
  storesMessages(): boolean {
    return !this.volatile || !this.consuming
  }

  deleteMessage(mutations: Mutation[], id: string): void {
    if (this.storesMessages()) mutations.push({ op: 'delete', ns: 'messages', key: id })
  }

  /** Numbers new messages (FIFO order) and stores them with `mutations`. */
  putFollowUps(mutations: Mutation[], messages: readonly TaskMessage[]): void {
    const stores = this.storesMessages()
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!
      m.seq = ++this.seq
      if (stores) mutations.push({ op: 'put', ns: 'messages', key: m.id, value: m })
    }
  }

  // ---- events ----------------------------------------------------------------------------

  eventBase(message: TaskMessage): TaskEventBase {
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

  emit<K extends OutcomeEvent>(name: K, message: TaskMessage, extra: Omit<Parameters<CeleriacEvents[K]>[0], keyof TaskEventBase>): void {
    if (this.events.listenerCount(name) === 0) return
    const payload = { ...this.eventBase(message), ...extra } as Parameters<CeleriacEvents[K]>[0]
    ;(this.events.emit as (n: K, p: typeof payload) => boolean)(name, payload)
  }

  log(text: string): void {
    this.events.emit('log', { id: '', level: 'error', text })
  }

  // ---- work in flight, idle and quiet ----------------------------------------------------

  /**
   * Counts `work` as engine work until it settles, so the virtual clock does not move while it
   * is in flight.
   */
  hold<T>(work: Promise<T>): Promise<T> {
    this.pendingOps++
    return work.finally(() => this.opDone())
  }

  opDone(): void {
    this.pendingOps--
    this.checkWaiters()
  }

  async drainOps(): Promise<void> {
    while (this.pendingOps > 0) await new Promise<void>((resolve) => this.#quietWaiters.push(resolve))
  }

  /** Resolves when nothing runs and nothing is ready to run. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Resolves when nothing can happen without moving the clock (virtual clock's `advance`). */
  whenQuiet(): Promise<void> {
    if (this.isQuiet()) return Promise.resolve()
    return new Promise((resolve) => this.#quietWaiters.push(resolve))
  }

  #isIdle(): boolean {
    return (
      this.running.size === 0 &&
      this.pendingOps === 0 &&
      !this.pumpScheduled &&
      (!this.consuming || this.#runnableCount() === 0) &&
      this.transport?.transport.isQuiet?.() !== false
    )
  }

  /** Ready messages that can run: those of a paused queue wait for its resume, not for the engine. */
  #runnableCount(): number {
    let count = this.scheduler.readyCount
    if (this.paused.size > 0) for (const queue of this.paused.keys()) count -= this.scheduler.queue(queue).size
    return count
  }

  isQuiet(): boolean {
    if (this.pendingOps !== 0 || this.pumpScheduled) return false
    if (this.transport?.transport.isQuiet?.() === false) return false
    if (this.running.size === this.parked) return true
    if (!this.executor.reportsStart || this.executor.startable === undefined) return false
    // Runs held by workers whose task slots are all taken by tasks parked on the clock cannot
    // start before time moves: they must not keep the clock from advancing.
    let started = 0
    for (const run of this.running.values()) if (run.started) started++
    return started === this.parked && !this.executor.startable()
  }

  checkWaiters(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
    if (this.#quietWaiters.length > 0 && this.isQuiet()) {
      const waiters = this.#quietWaiters
      this.#quietWaiters = []
      for (const resolve of waiters) resolve()
    }
  }
}
