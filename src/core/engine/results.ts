/**
 * Results and their watchers: reading a record (on volatile storage a running task's STARTED
 * record comes from the run itself), watching an id, telling the watchers of a new record, and
 * result handles made from ids or their JSON form.
 */
import type { HandleJSON } from '../model/context.js'
import type { ResultRecord } from '../model/message.js'
import type { Encoded } from '../model/json.js'
import { FAILURE, STARTED } from '../model/states.js'
import { tracebackOf } from '../serializer/decode.js'
import { AsyncResult, GroupResult } from '../result/result.js'
import type { ResultSource } from '../result/result.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { EngineState } from './state.js'

export class Results {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #watchers = new Map<string, Set<(record: ResultRecord) => void>>()
  /** What handles read through: the engine. */
  readonly #source: ResultSource

  constructor(state: EngineState, commits: CommitQueue, source: ResultSource) {
    this.#state = state
    this.#commits = commits
    this.#source = source
  }

  async read(id: string): Promise<ResultRecord | undefined> {
    const record = (await this.#commits.store().get('results', id)) as ResultRecord | undefined
    if (record === undefined && this.#state.volatile) return this.#startedRecord(id)
    if (record !== undefined && record.expiresAt !== null && record.expiresAt <= this.#state.clock.now()) return undefined
    return record
  }

  /** On volatile storage: the STARTED record a running task would have stored. */
  #startedRecord(id: string): ResultRecord | undefined {
    const run = this.#state.running.get(id)
    if (run === undefined || !run.started || run.settled) return undefined
    const task = this.#state.config.profile(run.message.task)
    if (task !== undefined && !task.trackStarted) return undefined
    return this.#state.record(run.message, STARTED, null, run.children)
  }

  watch(id: string, listener: (record: ResultRecord) => void): () => void {
    let set = this.#watchers.get(id)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(id, set)
    }
    set.add(listener)
    return () => {
      const current = this.#watchers.get(id)
      if (current === undefined) return
      current.delete(listener)
      if (current.size === 0) this.#watchers.delete(id)
    }
  }

  /** Tells the watchers of `record.id` (the record just stored, not read back). */
  notify(record: ResultRecord): void {
    const set = this.#watchers.get(record.id)
    if (set === undefined) return
    for (const listener of [...set]) listener(record)
  }

  /** Tells the watchers of each record `mutations` put; with `error`, as FAILURE with that error instead. */
  notifyPuts(mutations: readonly Mutation[], error?: Encoded): void {
    for (const m of mutations) {
      if (m.op !== 'put' || m.ns !== 'results') continue
      const record = m.value as ResultRecord
      this.notify(error === undefined ? record : { ...record, state: FAILURE, result: error, traceback: tracebackOf(error) })
    }
  }

  /** Reads the stored record of `id` and tells its watchers, if it has any. */
  notifyRecord(id: string): void {
    if (!this.#watchers.has(id)) return
    const state = this.#state
    state.pendingOps++
    this.#commits
      .store()
      .get('results', id)
      .then(
        (record) => {
          if (record !== undefined) this.notify(record as ResultRecord)
          state.opDone()
        },
        () => state.opDone(),
      )
  }

  async forget(id: string): Promise<void> {
    await this.#commits.store().write([{ op: 'delete', ns: 'results', key: id }])
    if (!this.#state.running.has(id)) this.#state.known.delete(id)
  }

  handle<T>(id: string): AsyncResult<T> {
    return new AsyncResult<T>(id, this.#source)
  }

  /** Builds a handle from its JSON form. */
  handleFromJSON(json: HandleJSON): unknown {
    const parent = json.parent === null ? undefined : (this.handleFromJSON(json.parent) as AsyncResult<unknown>)
    if (json.kind === 'result') return new AsyncResult(json.id, this.#source, parent)
    return new GroupResult(
      json.id,
      json.results.map((r) => this.handleFromJSON(r) as AsyncResult<unknown>),
      parent,
    )
  }
}
