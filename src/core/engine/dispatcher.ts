/**
 * The dispatcher: the pump takes ready messages from each queue within its concurrency, passes
 * them through the gates, and hands them to the executor in one post per tick, once the commits
 * of the tick are stored. Nothing is leased before a run is about to start (see Starts.lease).
 */
import type { TaskMessage } from '../model/message.js'
import type { RunJob, RunStart } from '../model/protocol.js'
import { NONE } from '../model/context.js'
import type { ReadyQueue } from '../time/scheduler.js'
import type { CommitQueue } from './commit-queue.js'
import type { Gates } from './gates.js'
import type { UnrunReason } from './queue.js'
import type { Starts } from './starts.js'
import { newRun } from './state.js'
import type { EngineState, Running } from './state.js'

export class Dispatcher {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #starts: Starts
  readonly #gates: Gates

  constructor(state: EngineState, commits: CommitQueue, starts: Starts, gates: Gates) {
    this.#state = state
    this.#commits = commits
    this.#starts = starts
    this.#gates = gates
  }

  pump(): void {
    const state = this.#state
    state.pumpScheduled = false
    if (!state.consuming || state.recovering) return state.checkWaiters()
    const gates = this.#gates
    const scheduler = state.scheduler
    // Read once, when first needed: most messages do not expire.
    let now: number | undefined
    // The last task name the gates found open (Gates.admit): its next messages pass without
    // asking (nothing that could close them runs during this loop).
    let open: string | undefined
    let batch: Running[] | undefined
    let unrun: Array<[TaskMessage, UnrunReason]> | undefined
    for (const name of scheduler.queueNames()) {
      const queue: ReadyQueue = scheduler.queue(name)
      // A paused queue keeps what it holds until its resume (Pauses).
      if (queue.size === 0 || state.paused.has(name)) continue
      const limit = state.config.concurrency(name)
      let slots = state.runningPerQueue.get(name)
      if (slots === undefined) state.runningPerQueue.set(name, (slots = { count: 0 }))
      let running = slots.count
      while (running < limit) {
        const message = scheduler.take(queue)
        if (message === undefined) break
        // One run of an id at a time: this one waits until the one here leaves (Runs.release),
        // also one taken earlier in this pump (each is in `running` from the moment it is taken).
        if (state.running.has(message.id)) {
          state.afterRun.wait(message)
          continue
        }
        if (state.isRevoked(message.id)) (unrun ??= []).push([message, 'revoked'])
        else if (message.expires !== null && (now ??= state.clock.now()) >= message.expires) (unrun ??= []).push([message, 'expired'])
        else {
          if (message.task !== open) {
            const admission = gates.admit(message)
            if (admission === 'held') continue
            if (admission === 'open') open = message.task
          }
          running++
          const run = newRun(message, (now ??= state.clock.now()))
          state.running.set(message.id, run)
          ;(batch ??= []).push(run)
        }
      }
      slots.count = running
    }
    if (unrun !== undefined) gates.finishUnrun(unrun)
    if (batch !== undefined) this.#startBatch(batch)
    state.checkWaiters()
  }

  #startBatch(runs: Running[]): void {
    const state = this.#state
    // A retry continues the same task: it was received once.
    if (state.events.listenerCount('task-received') > 0) {
      for (let i = 0; i < runs.length; i++) {
        const message = runs[i]!.message
        if (message.retries === 0) state.events.emit('task-received', state.eventBase(message))
      }
    }
    // Nothing is stored before a run is about to start: a lease covers only runs that begin. A
    // run a worker holds (prefetch) when the process dies or stops is still queued in storage
    // and runs again; the worker's word that it starts it leases it (Starts.startSoon).
    // The runs leave once this tick's commits are stored (the outcome that made room for them),
    // so they see the results stored before them.
    if (state.executor.reportsStart) {
      // On memory storage, with no write in flight (one task at a time), they go now: nothing
      // to wait for, and the worker starts while this thread does the rest of its turn.
      if (state.volatile) return this.#commits.afterStored(this.#dispatchHeld, runs)
      return this.#commits.commitThen(NONE, this.#dispatchHeld, runs)
    }
    // Inline, an early-ack run on durable storage is leased in that same write, and posted once
    // it is stored: its ack comes before its body, so a crash never runs it twice (at most once,
    // Starts.leasesFirst), and it costs no write of its own.
    const starts = this.#starts
    let first: Running[] | undefined
    for (let i = 0; i < runs.length; i++) if (starts.leasesFirst(runs[i]!.message)) (first ??= []).push(runs[i]!)
    if (first === undefined) return this.#commits.commitThen(NONE, this.#startAndDispatch, runs)
    const lease = starts.lease(first)
    // Usually every run of the batch is early-ack: then none is left to mark after the lease.
    starts.leaseFirst(lease, first.length === runs.length ? this.#dispatchLeased : this.#startLeased, runs)
  }

  /**
   * A prefetching executor says when each run really starts (`started`, or at send for an idle
   * worker); it is marked then (see Starts.startSoon).
   */
  readonly #dispatchHeld = (runs: readonly Running[]): void => this.#dispatch(runs)

  /**
   * Inline runs, all early-ack, leased in the write that let them go (see #startBatch): posted
   * while the next write is held, so that what they report at once joins it (as in #startAndDispatch).
   */
  readonly #dispatchLeased = (runs: readonly Running[]): void => {
    this.#commits.holding(() => this.#dispatch(runs))
  }

  /** Inline runs whose early-ack ones, not all, were leased in the write that let them go (see #startBatch). */
  readonly #startLeased = (runs: readonly Running[]): void => {
    this.#commits.holding(() => {
      const starts = this.#starts
      // The acksLate ones among them start as below: marked now, their lease in the next write.
      const late = runs.filter((run) => !run.settled && !run.started && !starts.leasesFirst(run.message))
      if (late.length > 0) starts.markStarted(late)
      this.#dispatch(runs)
    })
  }

  /**
   * Inline, a run starts when it is posted: it is marked started (its lease and STARTED record
   * join the next write, before anything it reports) and posted in the same step. A crash before
   * that write is stored runs it again (an acksLate task, or any on memory storage, which leases
   * nothing).
   */
  readonly #startAndDispatch = (runs: readonly Running[]): void => {
    let on = runs
    for (let i = 0; i < runs.length; i++) {
      if (!runs[i]!.settled) continue
      // Settled meanwhile (revoked before it started): it never runs.
      on = runs.filter((run) => !run.settled)
      break
    }
    if (on.length === 0) return
    // Their write is issued once they are posted, so that what they report at once and the runs
    // their outcomes make room for join it: one write for a body that returns at once.
    this.#commits.holding(() => {
      this.#starts.markStarted(on)
      this.#dispatch(on)
    })
  }

  /** Hands the runs that are still on (none settled them meanwhile) to the executor, in one post. */
  #dispatch(runs: readonly Running[]): void {
    const jobs: RunJob[] = []
    const hostname = this.#state.config.hostname
    // Durable or shared storage leases a run when it starts: a worker must say when.
    const recorded = !this.#state.volatile
    // A worker holds an early-ack run until its lease is stored (inline, it is posted after it).
    const held = recorded && this.#state.executor.reportsStart
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (run.settled) continue
      const start: RunStart = !recorded ? 'report' : held && this.#starts.leasesFirst(run.message) ? 'lease-first' : 'record'
      jobs.push({ message: run.message, hostname, start })
    }
    if (jobs.length > 0) this.#state.executor.post({ type: 'run', jobs })
  }
}
