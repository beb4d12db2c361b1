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
import type { Mutation, StoredValue } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { EngineState } from './state.js'

type Listener = (record: ResultRecord) => void

export class Results {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  /**
   * The listeners of each watched id: the function itself while it is the only one (one wait
   * per `get()`, on every task's path when results are awaited one at a time), a Set of them
   * once there are more (many waiters on one id, say a fan-in: each add and delete stays O(1)).
   */
  readonly #watchers = new Map<string, Listener | Set<Listener>>()
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
    return this.#unexpired(record)
  }

  /**
   * The stored record of `id`, for a wait: as {@link read}, less the STARTED record a running
   * task's would be on volatile storage (a wait looks for a ready one only; building it cost a
   * record per `get()` of a task that was running).
   */
  #readStored(id: string): Promise<ResultRecord | undefined> {
    let stored: Promise<StoredValue | undefined>
    try {
      stored = this.#commits.store().get('results', id)
    } catch (error) {
      // As from the async read it replaces: a rejection, never a throw at the waiter.
      return Promise.reject(error)
    }
    return stored.then(this.#unexpired)
  }

  /** `record`, unless it expired (a result past `resultExpires` reads as none). */
  readonly #unexpired = (value: unknown): ResultRecord | undefined => {
    const record = value as ResultRecord | undefined
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

  watch(id: string, listener: Listener): () => void {
    const watchers = this.#watchers
    const current = watchers.get(id)
    // A listener added twice for an id is told once (and unwatched once), as in a Set.
    if (current === undefined) watchers.set(id, listener)
    else if (typeof current === 'function') {
      if (current !== listener) watchers.set(id, new Set([current, listener]))
    } else current.add(listener)
    return () => this.#unwatch(id, listener)
  }

  #unwatch(id: string, listener: Listener): void {
    const watchers = this.#watchers
    const current = watchers.get(id)
    if (current === undefined) return
    if (typeof current === 'function') {
      if (current === listener) watchers.delete(id)
      return
    }
    current.delete(listener)
    if (current.size === 0) watchers.delete(id)
  }

  /** Tells the watchers of `record.id` (the record just stored, not read back). */
  notify(record: ResultRecord): void {
    // Every outcome's path, and most apps watch nothing: no lookup then.
    if (this.#watchers.size === 0) return
    const current = this.#watchers.get(record.id)
    if (current === undefined) return
    if (typeof current === 'function') return current(record)
    // Those watching when it came, each once, even if one of them adds or removes another.
    for (const listener of [...current]) listener(record)
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
    state.hold(this.#readStored(id)).then(
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
