/**
 * The ways a run or a chord ends badly, side by side: a run's failure outcome, a run the engine
 * gave up on (terminated, revoked while held, hard time limit), an early-ack task lost in a
 * crash, and a chord body failed because a header task failed. Each stores the FAILURE (or
 * REVOKED) record, fails the later chain steps, sends the errbacks and counts for its chord.
 */
import { ChordError, TaskRevokedError, WorkerLostError } from '../model/errors.js'
import type { ChordRecord, MessageContext } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { ResultRecord, TaskMessage } from '../model/message.js'
import { FAILURE, REVOKED } from '../model/states.js'
import type { State } from '../model/states.js'
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

/** How a header task's end counts for its chord (chords.ts). */
export interface ChordParts {
  commitPart(message: TaskMessage, ok: boolean | null, mutations: Mutation[]): Promise<void>
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
   * A run's outcome is a failure: its record (stored by the caller with the rest of the
   * outcome), the later chain steps failed into `mutations`, its errbacks as `run.followUps`.
   * The caller counts it for its chord (in its chain's last step's place, see chainMembership).
   */
  failedOutcome(run: Running, error: Encoded, mutations: Mutation[]): ResultRecord {
    const { message } = run
    const record = this.#state.record(message, FAILURE, error, run.children)
    this.#workflow.failChain(message, error, mutations)
    run.followUps = this.#workflow.errbacks(message, mutations)
    return record
  }

  /** Ends a run the engine gave up on (terminate, hard limit): stores the state, frees the slot. */
  async settleAbandoned(run: Running, ending: State, error: Error, reason: 'revoked' | 'terminated' = 'terminated'): Promise<void> {
    if (run.settled) return
    this.#starts.startNow()
    run.settled = true
    const state = this.#state
    const workflow = this.#workflow
    const { message } = run
    const mutations: Mutation[] = [state.put(state.record(message, ending, encodeError(error), run.children))]
    state.deleteMessage(mutations, message.id)
    if (ending === FAILURE) workflow.failChain(message, encodeError(error), mutations)
    const followUps = ending === FAILURE ? workflow.errbacks(message, mutations) : []
    state.putFollowUps(mutations, followUps)
    await this.#commits.track(this.#chords.commitPart(message, false, mutations), () => {
      this.#runs.release(run)
      this.#queue.schedule(followUps)
      this.#results.notifyRecord(message.id)
      for (const step of message.chain) if (ending === FAILURE && typeof step.options.taskId === 'string') this.#results.notifyRecord(step.options.taskId)
      if (ending === REVOKED) state.emit('task-revoked', message, { reason })
      else state.emit('task-failed', message, { error, runtime: state.clock.now() - run.startedAt })
    })
  }

  /** An early-ack task that was running when the process died: it fails as any failure does. */
  async failLost(message: TaskMessage): Promise<void> {
    const state = this.#state
    const error = encodeError(new WorkerLostError(`Task ${message.task}[${message.id}] was running when its worker was lost`))
    const mutations: Mutation[] = [state.put(state.record(message, FAILURE, error)), { op: 'delete', ns: 'messages', key: message.id }]
    this.#workflow.failChain(message, error, mutations)
    const followUps = this.#workflow.errbacks(message, mutations)
    state.putFollowUps(mutations, followUps)
    await this.#chords.commitPart(message.chord === null ? chainMembership(message) : message, false, mutations)
    this.#queue.schedule(followUps)
  }
}

/**
 * A chord one of whose header tasks failed: its body is stored FAILURE with ChordError (cause:
 * the first failed header task's error), its chain failed with it, its errbacks returned (the
 * caller stores them with `mutations`, which already delete the chord).
 */
export async function failChordBody(
  state: EngineState,
  results: Results,
  workflow: Workflow,
  chord: ChordRecord,
  context: MessageContext,
  mutations: Mutation[],
): Promise<TaskMessage[]> {
  const failedId = chord.ids[chord.failedIndex!]!
  const failed = await results.read(failedId)
  const cause = failed?.result != null ? decodeError(failed.result) : new TaskRevokedError(`Task ${failedId} was revoked`)
  const error = new ChordError(`Dependency ${failedId} raised ${cause.name}: ${cause.message}`, failedId, { cause })
  const encoded = encodeError(error)
  const [body] = state.config.expand(chord.body, context).messages
  if (body === undefined) return []
  mutations.push(state.put(state.record(body, FAILURE, encoded)))
  workflow.failChain(body, encoded, mutations)
  return workflow.errbacks(body, mutations)
}
