/**
 * The one failure path. Every way a run, or a message that never ran, ends badly goes through
 * {@link Failure.end}: an exception, a soft or hard time limit, a lost worker, a revoke or
 * terminate, an expiry, `Reject` without requeue, a task lost in a crash, a write of its outcome
 * that failed. What differs between them is an {@link Ending}; the rest is one sequence: the
 * record, the later chain steps failed with it, the errbacks, the count for its chord (a chain
 * step inside a chord header counts in its chain's last step's place), one commit, then the run
 * released, the errbacks queued, the watchers told, one event. A chord body failed because a
 * header task failed is a node that was never sent (chords.ts, Workflow.unsent), with
 * {@link chordError}.
 */
import { ChordError, StorageError, TaskRevokedError, WorkerLostError } from '../model/errors.js'
import type { ChordRecord, MemberIds } from '../model/context.js'
import { NONE } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { TaskMessage } from '../model/message.js'
import { FAILURE, REVOKED, SUCCESS } from '../model/states.js'
import { encodeError } from '../serializer/encode.js'
import { decodeError } from '../serializer/decode.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { Queue } from './queue.js'
import type { Results } from './results.js'
import type { Runs } from './runs.js'
import type { Starts } from './starts.js'
import type { EngineState, Running } from './state.js'
import { chainMembership } from './workflow.js'
import type { Workflow } from './workflow.js'

/** Why a run or message was revoked (the `task-revoked` event's reason). */
export type RevokeReason = 'revoked' | 'expired' | 'terminated'

/** How a run, or a message that never ran, ended badly: what differs between the kinds. */
export interface Ending {
  /**
   * FAILURE stops the chain (its later steps are stored FAILURE with the same error) and sends
   * the errbacks; REVOKED leaves the later steps PENDING and sends none (DESIGN §4; Celery's
   * `mark_as_revoked` calls no errback). Either way the run counts as failed for its chord.
   */
  readonly state: typeof FAILURE | typeof REVOKED
  /** The error stored with it. */
  readonly error: Encoded
  /** That error as thrown, when the engine made it (events carry it; decoded from `error` otherwise). */
  readonly thrown: Error | undefined
  /** The event that says so once it is stored; none for a task lost in a crash. */
  readonly event: 'task-failed' | 'task-rejected' | 'task-revoked' | undefined
  /** Why it was revoked (`task-revoked`). */
  readonly reason: RevokeReason | undefined
}

/** The run raised (its outcome, from the runtime): FAILURE, `task-failed`. */
export function failedWith(error: Encoded): Ending {
  return { state: FAILURE, error, thrown: undefined, event: 'task-failed', reason: undefined }
}

/** The engine failed the run (a hard time limit, a write that failed): FAILURE, `task-failed`. */
export function failedBy(error: Error): Ending {
  return { state: FAILURE, error: encodeError(error), thrown: error, event: 'task-failed', reason: undefined }
}

/** `Reject` without requeue: FAILURE with the Reject error (NOTES.md), `task-rejected`. */
export function rejectedWith(error: Encoded): Ending {
  return { state: FAILURE, error, thrown: undefined, event: 'task-rejected', reason: undefined }
}

/** Revoked while queued or held, terminated while running, or not started before it expired. */
export function revokedFor(message: TaskMessage, reason: RevokeReason): Ending {
  const how = reason === 'expired' ? 'not started before it expired' : reason === 'terminated' ? 'terminated' : 'revoked'
  const error = new TaskRevokedError(`Task ${message.id} was ${how}`, reason)
  return { state: REVOKED, error: encodeError(error), thrown: error, event: 'task-revoked', reason }
}

/** An early-ack task that was running when the process died (recovery): FAILURE, no event. */
function lostIn(message: TaskMessage): Ending {
  const error = new WorkerLostError(`Task ${message.task}[${message.id}] was running when its worker was lost`)
  return { state: FAILURE, error: encodeError(error), thrown: error, event: undefined, reason: undefined }
}

/** The storage refused a write the run's end (or its start) was in. */
export function storageFailure(message: TaskMessage, what: string, cause: unknown): StorageError {
  return new StorageError(`The ${what} of task ${message.task}[${message.id}] could not be stored: ${String(cause)}`, { cause })
}

/** What {@link endWrites} adds besides the writes. */
interface EndWrites {
  /** The errbacks to queue once the writes are stored (already in the writes). */
  readonly followUps: TaskMessage[]
  /** The message that counts for a chord (its `chord` is null when none counts). */
  readonly part: TaskMessage
}

/**
 * The writes every bad ending shares, added to `mutations`: the record; for FAILURE the later
 * chain steps failed with the same error (Celery 5) and the errbacks (with the failed task's id).
 * Also which message counts for a chord: a failed step of a chain inside a chord header counts in
 * its chain's last step's place.
 */
function endWrites(state: EngineState, workflow: Workflow, message: TaskMessage, ending: Ending, children: string[], mutations: Mutation[]): EndWrites {
  mutations.push(state.put(state.record(message, ending.state, ending.error, children)))
  let followUps: TaskMessage[] = NONE
  if (ending.state === FAILURE) {
    workflow.failChain(message, ending.error, mutations)
    followUps = workflow.errbacks(message, mutations)
    state.putFollowUps(mutations, followUps)
  }
  return { followUps, part: chainMembership(message) }
}

/** How a header task's end counts for its chord (chords.ts). */
export interface ChordParts {
  commitPart(message: TaskMessage, ok: boolean | null, mutations: Mutation[]): Promise<void>
}

/** One bad ending on its way to storage. */
interface End {
  readonly run: Running | undefined
  readonly message: TaskMessage
  readonly ending: Ending
  readonly writes: EndWrites
  readonly mutations: Mutation[]
  /** Writes tried so far (one retry). */
  tries: number
  readonly done: () => void
}

export class Failure {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #runs: Runs
  readonly #starts: Starts
  readonly #queue: Queue
  readonly #workflow: Workflow
  readonly #chords: ChordParts

  constructor(state: EngineState, commits: CommitQueue, results: Results, runs: Runs, starts: Starts, queue: Queue, workflow: Workflow, chords: ChordParts) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#runs = runs
    this.#starts = starts
    this.#queue = queue
    this.#workflow = workflow
    this.#chords = chords
  }

  /**
   * Ends a run (settled: its outcome came in, or the engine gave up on it) or a message that
   * never ran, badly: stores {@link endWrites} and its message's delete in one commit (counting
   * it for its chord in the same atomic step), then releases the run (or, with hooks left, lets
   * them run), queues the errbacks, tells the watchers and emits the ending's event. When that
   * write fails it is tried once more; when that fails too the run is released anyway, its
   * watchers get a FAILURE record with the StorageError, and the message stays in storage for
   * recovery. Resolves when it is over.
   */
  end(target: Running | TaskMessage, ending: Ending): Promise<void> {
    const run = 'message' in target ? target : undefined
    const message = run === undefined ? (target as TaskMessage) : run.message
    const state = this.#state
    // STARTED records waiting for this tick's commit go first: they must not land after this.
    if (run !== undefined) this.#starts.startNow()
    const mutations: Mutation[] = []
    state.deleteMessage(mutations, message.id)
    const writes = endWrites(state, this.#workflow, message, ending, run?.children ?? NONE, mutations)
    // Known until it leaves, though out of the scheduler now; one lost in a crash never was
    // (recovery knows only what it queues again).
    if (run === undefined && ending.event !== undefined) state.known.hold(message.id)
    return new Promise<void>((done) => this.#commit({ run, message, ending, writes, mutations, tries: 0, done }))
  }

  /** Ends a run the engine gives up on (terminated, revoked while held, a hard time limit), unless it already ended. */
  abandon(run: Running, ending: Ending): Promise<void> {
    if (run.settled) return Promise.resolve()
    run.settled = true
    return this.end(run, ending)
  }

  /** An early-ack task that was running when the process died: it fails as any failure does. */
  failLost(message: TaskMessage): Promise<void> {
    return this.end(message, lostIn(message))
  }

  #commit(end: End): void {
    const part = end.writes.part
    if (part.chord === null) this.#commits.commitThen(end.mutations, this.#stored, end, this.#notStored)
    else {
      void this.#commits.track(
        this.#chords.commitPart(part, false, end.mutations),
        () => this.#stored(end),
        (error) => this.#notStored(end, error),
      )
    }
  }

  /** What follows the commit of a bad ending (a shared function: the per-tick batch takes it). */
  readonly #stored = (end: End): void => {
    const { message, ending } = end
    this.#leave(end)
    if (end.writes.followUps.length > 0) this.#queue.schedule(end.writes.followUps)
    this.#results.notifyPuts(end.mutations)
    const state = this.#state
    const event = ending.event
    if (event !== undefined && state.events.listenerCount(event) > 0) {
      if (event === 'task-revoked') state.emit(event, message, { reason: ending.reason ?? 'revoked' })
      else if (event === 'task-rejected') state.emit(event, message, { requeue: false })
      else state.emit(event, message, { error: ending.thrown ?? decodeError(ending.error), runtime: this.#runtime(end) })
    }
    end.done()
  }

  readonly #notStored = (end: End, error: unknown): void => {
    if (end.tries++ === 0) return this.#commit(end)
    // Given up: nothing of the ending is stored. The run must not stay `running` (nothing would
    // end it and the engine would never be idle), and its watchers must not wait for ever.
    const state = this.#state
    const { message } = end
    const failure = storageFailure(message, `${end.ending.state} record`, error)
    state.log(`celeriac: ${failure.message}; its message stays in storage for recovery`)
    this.#leave(end)
    this.#results.notifyPuts(end.mutations, encodeError(failure))
    state.emit('task-failed', message, { error: failure, runtime: this.#runtime(end) })
    end.done()
  }

  /** The run leaves: released now, or once its hooks are done (they wait for this commit). */
  #leave(end: End): void {
    const { run, message } = end
    this.#state.known.delete(message.id)
    if (run === undefined) return
    run.left = true
    if (run.hooks) this.#state.executor.post({ type: 'committed', id: message.id })
    else this.#runs.release(run)
  }

  #runtime(end: End): number {
    return end.run === undefined ? 0 : this.#state.clock.now() - end.run.startedAt
  }
}

/**
 * The error the body of a chord one of whose header tasks failed ends with (Workflow.unsent
 * writes it): ChordError naming the first failed header task in header order, its error as
 * `cause`. A member whose result is a group's (a chain ending in a group) names its first task
 * that failed.
 */
export async function chordError(results: Results, chord: ChordRecord): Promise<ChordError> {
  const member = chord.ids[chord.failedIndex!]!
  const failedId = await firstFailed(results, member)
  const failed = await results.read(failedId)
  const cause = failed?.result != null ? decodeError(failed.result) : new TaskRevokedError(`Task ${failedId} was revoked`)
  return new ChordError(`Dependency ${failedId} raised ${cause.name}: ${cause.message}`, failedId, { cause })
}

/** The first id of `ids` (in order) whose task did not succeed; the first id when none is found. */
async function firstFailed(results: Results, ids: MemberIds): Promise<string> {
  if (typeof ids === 'string') return ids
  const leaves: string[] = []
  const collect = (x: MemberIds): void => {
    if (typeof x === 'string') leaves.push(x)
    else for (const y of x) collect(y)
  }
  collect(ids)
  for (const id of leaves) if ((await results.read(id))?.state !== SUCCESS) return id
  return leaves[0] ?? ''
}
