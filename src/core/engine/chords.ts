/**
 * Chords: each header task's result counts for its chord in the same atomic step as its outcome
 * (once, even if delivered again); the last one in sends the body with their results in header
 * order, or fails it when one of them failed (failure.ts; a body that is itself in an outer
 * chord's header then counts as failed there). A join (a group whose list is one member of an
 * outer chord's header) is counted the same way and, once complete, counts for that chord.
 */
import { childContext } from '../model/context.js'
import type { ChordRecord, MemberIds } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { TaskMessage } from '../model/message.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import { chordError } from './failure.js'
import { encodeError } from '../serializer/encode.js'
import type { Queue } from './queue.js'
import type { Results } from './results.js'
import type { EngineState } from './state.js'
import type { ChordCount, Workflow } from './workflow.js'

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
    return this.commitCount({ ref, id: message.id, ok }, mutations)
  }

  /** Commits `mutations` and, in the same atomic step, makes `count` (once per header index). */
  commitCount(count: ChordCount, mutations: Mutation[]): Promise<void> {
    const { ref, id, ok } = count
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
          const next: ChordRecord = { ...record, count: record.count + 1, failedIndex, lastId: id }
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
    const mutations: Mutation[] = [{ op: 'delete', ns: 'chords', key: chordId }]
    for (let i = 0; i < record.size; i++) mutations.push({ op: 'delete', ns: 'chords', key: `${chordId}#${String(i)}` })
    if (record.body === null) {
      // A join: the group is complete, and counts once for the chord it is a header member of
      // (that chord reads its members' results when it completes).
      await this.commitCount({ ref: record.part!, id: record.lastId ?? chordId, ok: record.failedIndex === null }, mutations)
      return
    }
    // The header task whose completion sends the body (a record stored before lastId has none).
    const context = childContext(null, record.lastId ?? null, record.rootId, record.headers, record.chain)
    const messages: TaskMessage[] = []
    let count: ChordCount | null
    if (record.failedIndex === null) {
      const values: Encoded[] = []
      for (const ids of record.ids) values.push(await this.#values(ids))
      // A body that cannot be expanded ends as FAILURE (Workflow.send), counted where it counts.
      count = this.#workflow.send(record.body, { ...context, prepend: [values] }, messages, mutations)?.count ?? null
    } else {
      const error = await chordError(this.#results, record)
      count = this.#workflow.unsent(record.body, context, encodeError(error), messages, mutations)
    }
    this.#state.putFollowUps(mutations, messages)
    await (count === null ? this.#commits.commit(mutations) : this.commitCount(count, mutations))
    this.#queue.schedule(messages)
    this.#results.notifyPuts(mutations)
  }

  /** The results of a header member, in its order (a group's as a list). */
  async #values(ids: MemberIds): Promise<Encoded> {
    if (typeof ids === 'string') return (await this.#results.read(ids))?.result ?? null
    const out: Encoded[] = []
    for (const id of ids) out.push(await this.#values(id))
    return out
  }
}
