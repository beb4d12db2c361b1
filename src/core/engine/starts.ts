/**
 * The start of a run: acking (or leasing) it and recording STARTED in one write, then arming its
 * soft and hard time limits. Starts a worker reports within one tick are marked together.
 */
import { TimeLimitExceeded } from '../model/errors.js'
import type { ResultRecord, TaskMessage } from '../model/message.js'
import { NONE } from '../model/context.js'
import { PENDING, STARTED } from '../model/states.js'
import { microtask } from '../time/microtask.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { Results } from './results.js'
import type { Runs } from './runs.js'
import type { EngineState, Running } from './state.js'

/** The writes that lease runs as they start, and the STARTED records among them (see Starts.lease). */
export interface Lease {
  readonly runs: readonly Running[]
  readonly mutations: readonly Mutation[]
  readonly records: readonly ResultRecord[] | undefined
}

/** Fails a run the engine gives up on (the failure room's `abandon`). */
export type Abandon = (run: Running, error: Error) => Promise<void>

/** A task's time limits, ms (null: none). */
interface TimeLimits {
  readonly soft: number | null
  readonly hard: number | null
}

const NO_LIMITS: TimeLimits = { soft: null, hard: null }

/** What a lease changes in a stored message. */
const LEASED = { leased: true } as const

export class Starts {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #runs: Runs
  readonly #abandon: Abandon
  /** Runs reported started in this tick, not yet marked (see {@link startSoon}). */
  #starting: Running[] = []
  /** Time limits set live (`app.control.timeLimit`), by task name. */
  readonly #timeLimits = new Map<string, TimeLimits>()

  constructor(state: EngineState, commits: CommitQueue, results: Results, runs: Runs, abandon: Abandon) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#runs = runs
    this.#abandon = abandon
  }

  /**
   * A worker said the run started: marked with the others that say so in this tick, in one
   * step. Anything else about a run waiting here (its state, its outcome) marks them first, so
   * its STARTED record always comes before what follows it.
   */
  startSoon(run: Running): void {
    // Memory storage leases and records nothing at a start: no write to join or wait for, so
    // the run is marked now (a commit round per start was most of a worker task's engine work).
    if (this.#state.volatile && !run.unrecorded) return this.#startUnstored(run)
    if (!run.unrecorded) {
      run.started = true
      run.startedAt = this.#state.clock.now()
    }
    this.#starting.push(run)
    if (this.#starting.length === 1) microtask(this.startNow)
  }

  /**
   * {@link markStarted} for one run on memory storage, at once: limits armed. 'task-started'
   * follows what the commits before it report, as a stored start's does (the outcome that made
   * room for the run, in the same batch from its worker, says 'task-succeeded' first).
   */
  #startUnstored(run: Running): void {
    const state = this.#state
    run.started = true
    run.startedAt = state.clock.now()
    this.#armLimits(run)
    if (state.events.listenerCount('task-started') > 0) this.#commits.commitThen(NONE, this.#sayStarted, run)
  }

  readonly #sayStarted = (run: Running): void => {
    const state = this.#state
    state.events.emit('task-started', state.eventBase(run.message))
  }

  /**
   * A run sent to an idle worker counts as started now (its limits are armed from now), but it
   * is recorded (leased, STARTED) only when the worker says it began (`startSoon`): a lease must
   * cover only a run that began, and a worker may be slow to take it up.
   */
  startUnrecorded(run: Running): void {
    if (run.started) return
    run.started = true
    run.unrecorded = true
    run.startedAt = this.#state.clock.now()
    this.#armLimits(run)
  }

  /**
   * Whether the body of a run of `message` waits for its lease to be stored: an early-ack task
   * on durable or shared storage. Its ack is stored before it runs, as Celery acks such a message
   * before running it, so a crash fails it as lost (at most once) but never runs it twice; an
   * acksLate task runs again after a crash anyway, and memory storage leases nothing.
   */
  leasesFirst(message: TaskMessage): boolean {
    return !this.#state.volatile && !message.acksLate
  }

  /** Marks the runs reported started in this tick now (see {@link startSoon}). */
  readonly startNow = (): void => {
    if (this.#starting.length === 0) return
    const runs = this.#starting
    this.#starting = []
    this.markStarted(runs, this.#go)
  }

  /** A worker holds early-ack runs until their lease is stored (RunStart `'lease-first'`): they may go. */
  readonly #go = (runs: readonly Running[]): void => {
    const executor = this.#state.executor
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (!run.settled && this.leasesFirst(run.message)) executor.post({ type: 'go', id: run.message.id })
    }
  }

  /**
   * Leases started tasks and records STARTED, in one write; then arms their limits. Given
   * `leased` (early-ack runs whose bodies wait for their lease, in a worker), it is called with
   * them as soon as the write would survive a crash (see {@link leaseFirst}).
   */
  markStarted(runs: readonly Running[], leased?: (runs: readonly Running[]) => void): void {
    const now = this.#state.clock.now()
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (run.unrecorded) continue
      run.started = true
      run.startedAt = now
    }
    const lease = this.lease(runs)
    if (leased !== undefined) return this.leaseFirst(lease, leased, runs)
    const stored = (): void => {
      this.leased(lease)
      this.announce(lease)
    }
    // If the write fails the runs go on: they started already (the record follows the start), so
    // their limits are armed as usual, and the write of their outcome decides how they end.
    this.#commits.commitThen(lease.mutations, stored, undefined, stored)
  }

  /**
   * Stores `lease` and calls `then(arg)` as soon as it would survive a crash (before the disk's
   * flush, CommitQueue.commitWritten): the runs waiting for their ack start then. What others
   * see of their start ('task-started', the STARTED record's watchers) follows at the commit, in
   * order with the rest of the batch (the outcome that made room for them is reported first).
   * If the write fails they go on all the same, as runs whose start record failed do.
   */
  leaseFirst<T>(lease: Lease, then: (arg: T) => void, arg: T): void {
    const go = (value: T): void => {
      this.leased(lease)
      then(value)
    }
    this.#commits.commitWritten(lease.mutations, go, arg, go)
    this.#commits.commitThen(NONE, this.announce, lease)
  }

  /**
   * The lease and STARTED record of each run, for the write that starts them (none on memory
   * storage). Once it is stored, {@link leased} and {@link announce} say they started.
   */
  lease(runs: readonly Running[]): Lease {
    const state = this.#state
    if (state.volatile) return { runs, mutations: NONE, records: undefined }
    const mutations: Mutation[] = []
    const records = new Array<ResultRecord>(runs.length)
    for (let i = 0; i < runs.length; i++) {
      const { message } = runs[i]!
      // The message stays, leased, until the run ends: after a crash recovery runs an acksLate
      // task again (at least once) and fails an early-ack one with WorkerLostError (at most
      // once), continuing its chain, errbacks and chord as any failure does.
      // Given as a change of the stored message: file storage journals `leased` alone, not the
      // whole message a second time (a third of a durable task's journal bytes and JSON).
      mutations.push({ op: 'put', ns: 'messages', key: message.id, value: { ...message, leased: true }, base: message, changes: LEASED })
      const task = state.config.profile(message.task)
      const recorded = task === undefined || task.trackStarted ? STARTED : PENDING
      const record = state.record(message, recorded, null)
      records[i] = record
      runs[i]!.leaseRecord = record
      mutations.push(state.put(record))
    }
    return { runs, mutations, records }
  }

  /** The lease of the runs is stored (or its write failed: they go on): they start; limits armed. */
  leased({ runs }: Lease): void {
    const now = this.#state.clock.now()
    // The limits of the last task name seen: a batch is mostly runs of one task.
    let name: string | undefined
    let limits = NO_LIMITS
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      // Leased before it ran (an early-ack run posted once its lease is stored): it starts now,
      // unless it was settled meanwhile (revoked): then it never runs.
      if (!run.started) {
        if (run.settled) continue
        run.started = true
        run.startedAt = now
      }
      if (run.settled) continue
      // Counted started at its arrival: its limits run from then.
      if (run.unrecorded) run.unrecorded = false
      else {
        if (run.message.task !== name) {
          name = run.message.task
          limits = this.#limitsOf(name)
        }
        this.#armLimits(run, limits)
      }
    }
  }

  /** The lease is committed: 'task-started' for the runs that started, and their STARTED record to its watchers. */
  readonly announce = ({ runs, records }: Lease): void => {
    const state = this.#state
    const started = state.events.listenerCount('task-started') > 0
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (!run.started) continue
      // It did start: say so even when its outcome came in while the ack was being stored
      // (the outcome's events wait for its own, later, commit).
      if (started) state.events.emit('task-started', state.eventBase(run.message))
      if (run.settled) continue
      // The record just stored, now: reading it back could deliver it after a later update of
      // the task (its progress), and progress() would see the state go backwards.
      const record = records?.[i]
      if (record !== undefined) this.#results.notify(record)
    }
  }

  /** Overrides a task's time limits for runs that start from now on. */
  setTimeLimit(name: string, soft: number | null, hard: number | null): void {
    this.#timeLimits.set(name, { soft, hard })
  }

  /** A task's time limits for runs that start now: an override (`setTimeLimit`), else its options. */
  #limitsOf(name: string): TimeLimits {
    const override = this.#timeLimits.get(name)
    if (override !== undefined) return override
    const task = this.#state.config.profile(name)
    if (task === undefined || (task.softTimeLimit == null && task.timeLimit == null)) return NO_LIMITS
    return { soft: task.softTimeLimit ?? null, hard: task.timeLimit ?? null }
  }

  #armLimits(run: Running, limits = this.#limitsOf(run.message.task)): void {
    const state = this.#state
    const { message } = run
    const soft = message.softTimeLimit ?? limits.soft
    const hard = message.timeLimit ?? limits.hard
    if (soft !== null) {
      if (run.timers === NONE) run.timers = []
      run.timers.push(
        state.clock.setTimer(run.startedAt + soft, () => {
          if (!run.settled) this.#runs.cancel(run, 'soft-time-limit')
        }),
      )
    }
    if (hard !== null) {
      if (run.timers === NONE) run.timers = []
      run.timers.push(
        state.clock.setTimer(run.startedAt + hard, () => {
          if (run.settled) return
          state.executor.post({ type: 'cancel', id: message.id, reason: 'time-limit' })
          void this.#abandon(run, new TimeLimitExceeded(`Task ${message.task}[${message.id}] exceeded its time limit of ${String(hard)} ms`))
        }),
      )
    }
  }
}
