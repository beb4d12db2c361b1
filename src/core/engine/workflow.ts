/**
 * What follows a run in its workflow: the next chain step and the link callbacks after a
 * success, the errbacks after a failure, the later chain steps failed with it, and which message
 * counts for a chord when a chain inside a chord header fails early. Pure: it builds messages
 * and writes; the callers commit them.
 */
import { childContext, NONE } from '../model/context.js'
import type { Expansion } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { TaskMessage } from '../model/message.js'
import { FAILURE } from '../model/states.js'
import type { Mutation } from '../../storage/types.js'
import type { EngineState } from './state.js'

export class Workflow {
  readonly #state: EngineState

  constructor(state: EngineState) {
    this.#state = state
  }

  /** The next chain step and link callbacks after a success; their extra writes (a chord's counter) go to `mutations`. */
  successors(message: TaskMessage, value: Encoded, mutations: Mutation[]): TaskMessage[] {
    if (message.chain.length === 0 && message.links.length === 0) return NONE
    const expand = this.#state.config.expand
    const out: TaskMessage[] = []
    const add = (expansion: Expansion): void => {
      out.push(...expansion.messages)
      mutations.push(...expansion.mutations)
    }
    const [next, ...rest] = message.chain
    if (next !== undefined) add(expand(next, childContext([value], message.id, message.rootId, message.headers, rest)))
    for (const link of message.links) add(expand(link, childContext([value], message.id, message.rootId, message.headers, [])))
    return out
  }

  /** Errback messages: the failed task's id prepended to each errback's args. */
  errbacks(message: TaskMessage, mutations: Mutation[]): TaskMessage[] {
    if (message.linkErrors.length === 0) return NONE
    const out: TaskMessage[] = []
    for (const errback of message.linkErrors) {
      const expansion = this.#state.config.expand(errback, childContext([message.id], message.id, message.rootId, message.headers, []))
      out.push(...expansion.messages)
      mutations.push(...expansion.mutations)
    }
    return out
  }

  /** Celery 5: the chain's later steps are stored FAILURE with the same error. */
  failChain(message: TaskMessage, error: Encoded, mutations: Mutation[]): void {
    const state = this.#state
    for (const step of message.chain) {
      const id = step.options.taskId
      if (typeof id !== 'string') continue
      mutations.push(
        state.put({
          ...state.record(message, FAILURE, error),
          id,
          task: step.task,
          parentId: message.id,
          retries: 0,
        }),
      )
    }
  }
}

/**
 * The message that counts for a chord when `message` ends badly: itself, or for a step of a
 * chain inside a chord header, the message in its chain's last step's place.
 */
export function chainMembership(message: TaskMessage): TaskMessage {
  if (message.chord !== null) return message
  for (const step of message.chain) {
    const ref = step.options.chordRef
    if (ref != null && typeof ref === 'object') return { ...message, chord: ref as TaskMessage['chord'] }
  }
  return message
}
