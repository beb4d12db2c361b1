/**
 * Results and their watchers: reading a record (on volatile storage a running task's STARTED
 * record comes from the run itself), watching an id, telling the watchers of a new record, and
 * result handles made from ids or their JSON form.
 */
import type { HandleJSON } from '../model/context.js'
import { TimeoutError } from '../model/errors.js'
import type { ResultRecord } from '../model/message.js'
import type { Encoded } from '../model/json.js'
import { FAILURE, READY_STATES, STARTED } from '../model/states.js'
import { tracebackOf } from '../serializer/decode.js'
import { AsyncResult, handleFromJSON } from '../result/result.js'
import type { ResultSource } from '../result/result.js'
import type { TimerHandle } from '../time/clock.js'
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
    // Every outcome's path, and most apps watch nothing: no lookup then.
    if (this.#watchers.size === 0) return
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
    if (this.#watchers.size === 0 || !this.#watchers.has(id)) return
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

  /**
   * Calls `done` once with the record of `id` when it is ready, or with a `TimeoutError` after
   * `timeout` ms of the engine clock. Returns a function that stops waiting (`done` is then not
   * called). `done` is called synchronously with the write that made it ready, so a task parked
   * on it is counted running again in the same turn.
   */
  waitReady(id: string, timeout: number | undefined, done: (record: ResultRecord | undefined, error?: Error) => void): () => void {
    const state = this.#state
    let timer: TimerHandle | undefined
    let finished = false
    const finish = (record: ResultRecord | undefined, error?: Error): void => {
      if (finished) return
      stop()
      done(record, error)
    }
    const stop = (): void => {
      finished = true
      unwatch()
      if (timer !== undefined) state.clock.clearTimer(timer)
    }
    // Watch first, then read: a record written in between is not missed.
    const unwatch = this.watch(id, (record) => {
      if (READY_STATES.has(record.state)) finish(record)
    })
    if (timeout !== undefined) {
      timer = state.clock.setTimer(state.clock.now() + timeout, () =>
        finish(undefined, new TimeoutError(`Task ${id} was not ready within ${String(timeout)} ms`)),
      )
    }
    // The read counts as engine work: a clock that moved while it is in flight could fire the
    // timeout of a result that is already stored.
    state.hold(this.read(id)).then(
      (record) => {
        if (record !== undefined && READY_STATES.has(record.state)) finish(record)
      },
      (error: unknown) => finish(undefined, error instanceof Error ? error : new Error(String(error))),
    )
    return stop
  }

  /** {@link waitReady} as a promise (`get()` on the engine's handles). */
  wait(id: string, timeout: number | undefined): Promise<ResultRecord> {
    return new Promise((resolve, reject) => {
      this.waitReady(id, timeout, (record, error) => (error === undefined ? resolve(record!) : reject(error)))
    })
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#commits.store().write(ids.map((id) => ({ op: 'delete', ns: 'results', key: id })))
    // A broker remembers finished ids (sends are idempotent by id): the same id may be sent again.
    await this.#state.transport?.transport.forget(ids)
    for (const id of ids) if (!this.#state.running.has(id)) this.#state.known.forget(id)
  }

  handle<T>(id: string, ignored = false): AsyncResult<T> {
    return new AsyncResult<T>(id, this.#source, undefined, ignored)
  }

  /** Builds a handle from its JSON form. */
  handleFromJSON(json: HandleJSON): unknown {
    return handleFromJSON(json, this.#source)
  }
}
