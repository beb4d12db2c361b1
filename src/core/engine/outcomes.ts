/**
 * Outcomes: what a run reports becomes writes. A state update is stored at most once a window
 * (ProgressWindow), heard every time; its outcome is one write — the result, the ack, the next
 * messages (chain step, callbacks, errbacks, a retry), a chord count — and what follows that
 * write: the slot freed, the next messages scheduled, watchers and events.
 */
import type { Encoded } from '../model/json.js'
import type { ResultRecord, TaskMessage } from '../model/message.js'
import type { Outcome } from '../model/protocol.js'
import { RETRY, SUCCESS } from '../model/states.js'
import type { State } from '../model/states.js'
import { decode, decodeError } from '../serializer/decode.js'
import type { Mutation } from '../../storage/types.js'
import { NONE } from '../model/context.js'
import { retryDue } from '../task/tracer.js'
import type { Chords } from './chords.js'
import type { CommitQueue } from './commit-queue.js'
import { failedBy, failedWith, rejectedWith, storageFailure } from './failure.js'
import type { Failure } from './failure.js'
import type { ProgressWindow } from './progress-window.js'
import type { Queue } from './queue.js'
import type { Results } from './results.js'
import type { Runs } from './runs.js'
import type { Starts } from './starts.js'
import type { EngineState, Running } from './state.js'
import type { Successors, Workflow } from './workflow.js'

export class Outcomes {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #runs: Runs
  readonly #starts: Starts
  readonly #queue: Queue
  readonly #workflow: Workflow
  readonly #chords: Chords
  readonly #failure: Failure
  readonly #window: ProgressWindow

  constructor(
    state: EngineState,
    commits: CommitQueue,
    results: Results,
    runs: Runs,
    starts: Starts,
    queue: Queue,
    workflow: Workflow,
    chords: Chords,
    failure: Failure,
    window: ProgressWindow,
  ) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#runs = runs
    this.#starts = starts
    this.#queue = queue
    this.#workflow = workflow
    this.#chords = chords
    this.#failure = failure
    this.#window = window
  }

  onState(id: string, recorded: State, meta: Encoded): void {
    this.#starts.startNow()
    const state = this.#state
    const run = state.running.get(id)
    if (run === undefined || run.settled) return
    const record = state.record(run.message, recorded, meta, run.children)
    // Stored at most once a window (ProgressWindow); heard every time, in order with the
    // tick's other steps (after the STARTED record of its tick is stored, as before).
    const stored = this.#window.storeNow(run, record)
    this.#commits.commitThen(stored ? [state.put(record)] : NONE, () => {
      this.#results.notify(record)
      if (state.events.listenerCount('task-progress') > 0) {
        state.events.emit('task-progress', { ...state.eventBase(run.message), state: recorded, meta: decode(meta) })
      }
    })
  }

  onOutcome(id: string, outcome: Outcome, hooks: boolean): void {
    this.#starts.startNow()
    const state = this.#state
    const run = state.running.get(id)
    if (run === undefined || run.settled) {
      // Settled earlier (terminated, timed out): the late outcome is ignored, hooks may finish.
      if (hooks) state.executor.post({ type: 'committed', id })
      else if (run?.hooks === true) {
        // Its worker was lost while its hooks ran or waited for the outcome's commit (the pool
        // says so with an outcome of no hooks): no 'finished' will come. It leaves now, or once
        // that commit is stored; else its queue slot, and any later message of its id, wait forever.
        run.hooks = false
        if (run.left) this.#runs.release(run)
      }
      return
    }
    run.settled = true
    this.#window.drop(id)
    const timers = run.timers
    for (let i = 0; i < timers.length; i++) state.clock.clearTimer(timers[i]!)
    run.hooks = hooks
    if (!hooks) this.#runs.freeSlot(run)
    if (outcome.type === 'failure' || (outcome.type === 'reject' && !outcome.requeue)) {
      void this.#failure.end(run, outcome.type === 'failure' ? failedWith(outcome.error) : rejectedWith(outcome.error))
      return
    }
    const { message } = run
    let mutations: Mutation[] = []
    let followUps: TaskMessage[] = NONE
    let record: ResultRecord | undefined
    let requeued = false
    let unsent: Successors | undefined
    switch (outcome.type) {
      case 'success': {
        if (!message.ignoreResult) record = state.record(message, SUCCESS, outcome.value, run.children)
        else mutations.push({ op: 'delete', ns: 'results', key: id })
        const next = this.#workflow.successors(message, outcome.value, mutations)
        followUps = next.messages
        if (next.unsent) unsent = next
        break
      }
      case 'retry': {
        const eta = retryDue(outcome, state.clock.now(), state.config.random)
        record = state.record(message, RETRY, outcome.error, run.children)
        followUps = [{ ...message, retries: message.retries + 1, eta, leased: false }]
        requeued = true
        break
      }
      case 'ignore':
        mutations.push({ op: 'delete', ns: 'results', key: id })
        break
      case 'reject': {
        // With requeue (without, it failed above).
        followUps = [{ ...message, leased: false, redelivered: true }]
        requeued = true
        mutations.push({ op: 'delete', ns: 'results', key: id })
        break
      }
    }
    // A literal when the put is the first write (a plain success): a push onto `[]` would
    // allocate room for 16 on every task's path.
    if (record !== undefined) {
      const put = run.leaseRecord === undefined ? state.put(record) : state.putOver(record, run.leaseRecord)
      if (mutations.length === 0) mutations = [put]
      else mutations.push(put)
    }
    if (!requeued) state.deleteMessage(mutations, id)
    state.putFollowUps(mutations, followUps)
    run.outcome = outcome
    run.record = record
    run.followUps = followUps
    run.requeued = requeued
    // A chord header task's success counts for its chord in the same atomic step.
    if (unsent !== undefined) this.#commitUnsent(run, mutations, unsent)
    else if (message.chord === null || outcome.type !== 'success') this.#commits.commitThen(mutations, this.#afterOutcome, run, this.#notStored)
    else
      void this.#commits.track(
        this.#chords.commitPart(message, true, mutations),
        () => this.#afterOutcome(run),
        (error) => this.#notStored(run, error),
      )
  }

  /**
   * A success whose next step (or a link) could not be sent: that node's FAILURE records are in
   * `mutations`, and where it counts for a chord, it counts as failed in the same atomic step
   * (a chord header task's own count comes first: it is the last step of its chain, so the node
   * that failed is a link, which counts for no chord).
   */
  #commitUnsent(run: Running, mutations: Mutation[], unsent: Successors): void {
    const { message } = run
    const write =
      message.chord !== null
        ? this.#chords.commitPart(message, true, mutations)
        : unsent.count === null
          ? this.#commits.commit(mutations)
          : this.#chords.commitCount(unsent.count, mutations)
    void this.#commits.track(
      write,
      () => {
        this.#afterOutcome(run)
        this.#results.notifyPuts(mutations)
      },
      (error) => this.#notStored(run, error),
    )
  }

  /**
   * The write holding the run's outcome failed: nothing of it is stored. The run ends as FAILURE
   * with a StorageError (Celery's tracer stores the backend's exception as the task's failure).
   */
  readonly #notStored = (run: Running, error: unknown): void => {
    void this.#failure.end(run, failedBy(storageFailure(run.message, 'outcome', error)))
  }

  /** What follows the commit of a run's outcome (a shared function, not a closure per run: it is on every task's path). */
  readonly #afterOutcome = (run: Running): void => {
    const state = this.#state
    const results = this.#results
    const { message, record, followUps, requeued } = run
    const outcome = run.outcome!
    const id = message.id
    if (!requeued) {
      run.left = true
      state.known.delete(id)
    }
    if (run.hooks) state.executor.post({ type: 'committed', id })
    else this.#runs.release(run)
    if (followUps.length > 0) this.#queue.schedule(followUps, !requeued)
    if (record !== undefined) results.notify(record)
    else results.notifyRecord(id)
    this.#emitOutcome(run, outcome, followUps)
  }

  #emitOutcome(run: Running, outcome: Outcome, followUps: TaskMessage[]): void {
    const state = this.#state
    const { message } = run
    switch (outcome.type) {
      case 'success':
        // The clock is read for a listener only: this is every task's path.
        if (state.events.listenerCount('task-succeeded') > 0)
          state.emit('task-succeeded', message, { result: decode(outcome.value), runtime: state.clock.now() - run.startedAt })
        return
      case 'retry':
        state.emit('task-retried', message, {
          error: outcome.error === null ? null : decodeError(outcome.error),
          eta: followUps[0]?.eta ?? state.clock.now(),
        })
        return
      case 'reject':
        state.emit('task-rejected', message, { requeue: outcome.requeue })
        return
      case 'ignore':
      case 'failure':
        return
    }
  }
}
