/**
 * Chords: each header task's result counts for its chord in the same atomic step as its outcome
 * (once, even if delivered again); the last one in sends the body with their results in header
 * order, or fails it when one of them failed (failure.ts; a body that is itself in an outer
 * chord's header then counts as failed there).
 */
import { finalId } from '../canvas/expand.js'
import { childContext, NONE } from '../model/context.js'
import type { ChordRecord } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { TaskMessage } from '../model/message.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import { failChordBody } from './failure.js'
import type { Queue } from './queue.js'
import type { Results } from './results.js'
import type { EngineState } from './state.js'
import type { Workflow } from './workflow.js'

export class Chords {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #queue: Queue
  readonly #workflow: Workflow
  readonly #finishing = new Set<string>()

  constructor(state: EngineState, commits: CommitQueue, results: Results, queue: Queue, workflow: Workflow) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#queue = queue
    this.#workflow = workflow
  }

  /**
   * Commits `mutations`; for a chord header task (`ok` not null) in the same atomic step counts
   * it (once, even if re-delivered), and when it is the last one, finishes the chord.
   */
  commitPart(message: TaskMessage, ok: boolean | null, mutations: Mutation[]): Promise<void> {
    const ref = message.chord
    if (ref === null || ok === null) return this.#commits.commit(mutations)
    const marker = `${ref.id}#${String(ref.index)}`
    return this.#commits
      .transact(
        [
          { ns: 'chords', key: ref.id },
          { ns: 'chords', key: marker },
        ],
        ([value, seen]) => {
          if (value === undefined || seen !== undefined) return { mutations, result: false }
          const record = value as ChordRecord
          const failedIndex = !ok && (record.failedIndex === null || ref.index < record.failedIndex) ? ref.index : record.failedIndex
          const next: ChordRecord = { ...record, count: record.count + 1, failedIndex, lastId: message.id }
          return {
            mutations: [...mutations, { op: 'put', ns: 'chords', key: marker, value: ok }, { op: 'put', ns: 'chords', key: ref.id, value: next }],
            result: next.count >= next.size,
          }
        },
      )
      .then((complete) =>
        // The part is stored: a body that cannot be sent now is the chord's failure, not the
        // part's (the record stays, full, and recovery sends the body).
        complete ? this.finishChord(ref.id).catch((error: unknown) => this.#commits.logWriteFailure(error)) : undefined,
      )
  }

  /** Every header task is in: send the body with their results, or fail it with ChordError. */
  async finishChord(chordId: string): Promise<void> {
    // Recovery and a live header task can both find a chord complete; one sends its body. The
    // record is deleted in the same commit that sends the body, so across a crash it is either
    // still there (and finished again) or gone with the body sent.
    if (this.#finishing.has(chordId)) return
    this.#finishing.add(chordId)
    try {
      await this.#sendChordBody(chordId)
    } finally {
      this.#finishing.delete(chordId)
    }
  }

  async #sendChordBody(chordId: string): Promise<void> {
    const record = (await this.#commits.store().get('chords', chordId)) as ChordRecord | undefined
    if (record === undefined) return
    // The header task whose completion sends the body (a record stored before lastId has none).
    const context = childContext(null, record.lastId ?? null, record.rootId, record.headers, record.chain)
    const mutations: Mutation[] = [{ op: 'delete', ns: 'chords', key: chordId }]
    for (let i = 0; i < record.size; i++) mutations.push({ op: 'delete', ns: 'chords', key: `${chordId}#${String(i)}` })
    let messages: TaskMessage[] = NONE
    // The message that counts for an outer chord when the body fails (the body is in its header).
    let part: TaskMessage | undefined
    if (record.failedIndex === null) {
      const values: Encoded[] = []
      for (const id of record.ids) values.push((await this.#results.read(id))?.result ?? null)
      const expansion = this.#state.config.expand(record.body, { ...context, prepend: [values] })
      messages = expansion.messages
      mutations.push(...expansion.mutations)
      this.#state.putFollowUps(mutations, messages)
    } else {
      const failed = await failChordBody(this.#state, this.#results, this.#workflow, record, context, mutations)
      messages = failed?.followUps ?? NONE
      part = failed?.part
    }
    await (part === undefined || part.chord === null ? this.#commits.commit(mutations) : this.commitPart(part, false, mutations))
    this.#queue.schedule(messages)
    this.#results.notifyRecord(finalId(record.body))
    for (const step of record.chain) if (typeof step.options.taskId === 'string') this.#results.notifyRecord(step.options.taskId)
  }
}
