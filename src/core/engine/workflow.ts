/**
 * What follows a run in its workflow: the next chain step and the link callbacks after a
 * success, the errbacks after a failure, the later chain steps failed with it, and which message
 * counts for a chord when a chain inside a chord header fails early. Also what becomes of a node
 * that cannot be sent (its expansion threw, or its chord's header failed): it ends as FAILURE,
 * every task of it, as if it had failed. Pure: it builds messages and writes; the callers
 * commit them.
 */
import { failedEntries, finalRef, tasksOf } from '../canvas/nodes.js'
import type { FailedEntry, NodeTask } from '../canvas/nodes.js'
import { CeleriacError, ConfigError } from '../model/errors.js'
import { childContext, NONE } from '../model/context.js'
import type { Expansion, MessageContext } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { ChordRef, SignatureJSON, TaskMessage } from '../model/message.js'
import { FAILURE } from '../model/states.js'
import { encodeError } from '../serializer/encode.js'
import type { Mutation } from '../../storage/types.js'
import type { EngineState } from './state.js'

/** A count for a chord to make in the same atomic step as a commit (chords.ts). */
export interface ChordCount {
  readonly ref: ChordRef
  /** The message counted: the body's parent if it is the last one in. */
  readonly id: string
  readonly ok: boolean
}

/** What follows a success: the messages, and a count for a chord when a successor could not be sent. */
export interface Successors {
  readonly messages: TaskMessage[]
  readonly count: ChordCount | null
  /** Whether a successor could not be sent (its FAILURE records are in the writes: tell their watchers). */
  readonly unsent: boolean
}

const NO_SUCCESSORS: Successors = { messages: NONE, count: null, unsent: false }

/** A node that could not be sent: its count for a chord, if any. */
interface Unsent {
  readonly count: ChordCount | null
}

export class Workflow {
  readonly #state: EngineState

  constructor(state: EngineState) {
    this.#state = state
  }

  /** The next chain step and link callbacks after a success; their extra writes (a chord's counter) go to `mutations`. */
  successors(message: TaskMessage, value: Encoded, mutations: Mutation[]): Successors {
    if (message.chain.length === 0 && message.links.length === 0) return NO_SUCCESSORS
    const out: TaskMessage[] = []
    const [next, ...rest] = message.chain
    const failed = next === undefined ? null : this.send(next, childContext([value], message.id, message.rootId, message.headers, rest), out, mutations)
    let unsent = failed !== null
    // A link is outside the workflow: it counts for no chord.
    for (const link of message.links)
      if (this.send(link, childContext([value], message.id, message.rootId, message.headers, NONE), out, mutations) !== null) unsent = true
    return unsent ? { messages: out, count: failed?.count ?? null, unsent } : { messages: out, count: null, unsent: false }
  }

  /**
   * Expands `json` into `out` and `mutations`; null when it is sent. When that throws, the node
   * is not sent: it ends as FAILURE with a typed error instead ({@link unsent}).
   */
  send(json: SignatureJSON, context: MessageContext, out: TaskMessage[], mutations: Mutation[]): Unsent | null {
    let expansion: Expansion
    try {
      expansion = this.#state.config.expand(json, context)
    } catch (error) {
      const typed = expansionError(json, error)
      // A link or errback that was never frozen has no result anyone holds: only the log tells.
      if (!hasIds(json)) this.#state.log(`celeriac: ${typed.message}`)
      return { count: this.unsent(json, context, encodeError(typed), out, mutations) }
    }
    out.push(...expansion.messages)
    mutations.push(...expansion.mutations)
    return null
  }

  /** Errback messages: the failed task's id prepended to each errback's args. */
  errbacks(message: TaskMessage, mutations: Mutation[]): TaskMessage[] {
    if (message.linkErrors.length === 0) return NONE
    const out: TaskMessage[] = []
    for (const errback of message.linkErrors) this.send(errback, childContext([message.id], message.id, message.rootId, message.headers, NONE), out, mutations)
    return out
  }

  /** Celery 5: the chain's later steps are stored FAILURE with the same error (every task of each). */
  failChain(message: TaskMessage, error: Encoded, mutations: Mutation[]): void {
    if (message.chain.length === 0) return
    const tasks: NodeTask[] = []
    for (const step of message.chain) tasksOf(step, tasks)
    for (const t of tasks) mutations.push(this.#failed(t, message.id, message.rootId, error))
  }

  /**
   * A node that was not sent (its expansion threw, or its chord's header failed) ends as if it
   * had failed: every task of it, and of the chain steps after it, is stored FAILURE with
   * `error`; the errbacks of the tasks it would have started with run (see `failedEntries`),
   * into `out`; and where its result counts for a chord, it counts as failed (returned).
   */
  unsent(json: SignatureJSON, context: MessageContext, error: Encoded, out: TaskMessage[], mutations: Mutation[]): ChordCount | null {
    const tasks: NodeTask[] = []
    tasksOf(json, tasks)
    for (const step of context.chain) tasksOf(step, tasks)
    for (const t of tasks) mutations.push(this.#failed(t, context.parentId, context.rootId, error))
    const entries: FailedEntry[] = []
    failedEntries(json, NONE, entries)
    for (const entry of entries) {
      const rootId = context.rootId ?? entry.id
      for (const errback of entry.errbacks) this.send(errback, childContext([entry.id], entry.id, rootId, context.headers, NONE), out, mutations)
    }
    let ref = finalRef(json)
    for (let i = context.chain.length - 1; ref === null && i >= 0; i--) ref = finalRef(context.chain[i]!)
    if (ref === null) return null
    return { ref, id: context.parentId ?? tasks[0]?.id ?? ref.id, ok: false }
  }

  #failed(t: NodeTask, parentId: string | null, rootId: string | null, error: Encoded): Mutation {
    const state = this.#state
    return state.put(state.record({ id: t.id, task: t.task, retries: 0, parentId, rootId: rootId ?? t.id, groupId: null, acksLate: false }, FAILURE, error))
  }
}

/** The typed error a node that could not be expanded ends with: the expansion's own, or a ConfigError saying so. */
function expansionError(json: SignatureJSON, error: unknown): CeleriacError {
  if (error instanceof CeleriacError) return error
  return new ConfigError(`Could not send the ${json.kind === 'task' ? `task '${json.task}'` : json.kind} that was to follow: ${String(error)}`)
}

function hasIds(json: SignatureJSON): boolean {
  const tasks: NodeTask[] = []
  tasksOf(json, tasks)
  return tasks.length > 0
}

/**
 * The message that counts for a chord when `message` ends badly: itself, or for a step of a
 * chain inside a chord header, the message in its chain's last step's place.
 */
export function chainMembership(message: TaskMessage): TaskMessage {
  if (message.chord !== null) return message
  for (let i = message.chain.length - 1; i >= 0; i--) {
    const ref = finalRef(message.chain[i]!)
    if (ref !== null) return { ...message, chord: ref }
  }
  return message
}
