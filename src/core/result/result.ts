/**
 * Result handles: AsyncResult (one task), GroupResult (a group, results in signature order) and
 * EagerResult (`task.apply()`). Handles are cheap values: they read the engine's result store.
 */
import { ConfigError, TaskRevokedError } from '../model/errors.js'
import { checkBoolean, checkDuration, checkName, checkOptionKeys } from '../model/validate.js'
import type { HandleJSON } from '../model/context.js'
import type { ResultRecord } from '../model/message.js'
import { decode, decodeError } from '../serializer/decode.js'
import { infoOf, statusOf } from './status.js'
import type { ResultStatus } from './status.js'
import { FAILURE, PENDING, PROPAGATE_STATES, READY_STATES, REVOKED, SUCCESS } from '../model/states.js'
import type { State } from '../model/states.js'

/**
 * What a result handle reads from: the engine, or inside a running task the engine through the
 * task's runtime (where a wait parks the task, so virtual time moves). @internal
 */
export interface ResultSource {
  read(id: string): Promise<ResultRecord | undefined>
  /**
   * Resolves with the record of `id` once it is ready; rejects with `TimeoutError` after
   * `timeout` ms of the engine's clock (none when undefined).
   */
  wait(id: string, timeout: number | undefined): Promise<ResultRecord>
  /**
   * Calls `listener` with every record written for `id` from now on; `failed` once the source can
   * no longer deliver them (a remote app's channel closed), after which it calls neither.
   */
  watch(id: string, listener: (record: ResultRecord) => void, failed?: (error: Error) => void): () => void
  /** Removes the stored results of `ids` (one write). */
  forget(ids: readonly string[]): Promise<void>
  revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void>
  handle<T>(id: string, ignored?: boolean): AsyncResult<T>
}

/**
 * Options of `get()`.
 *
 * @example
 * const value = await r.get({ timeout: 5_000 })          // TimeoutError after 5 s
 * const errorOrValue = await r.get({ propagate: false }) // the error instead of a rejection
 */
export interface GetOptions {
  /** Give up after this many ms (engine clock) with `TimeoutError`. @default no timeout */
  timeout?: number
  /** Reject with the task's error on FAILURE/REVOKED (true) or resolve with it (false). @default true */
  propagate?: boolean
}

/**
 * A state update, as `progress()` yields it.
 *
 * @example
 * for await (const update of r.progress()) console.log(update.state, update.info)
 */
export interface StateUpdate {
  state: State
  /** The custom state's meta (e.g. `{ current, total, percent }`), the result, or the error. */
  info: unknown
}

export type { ResultStatus } from './status.js'

/**
 * The handle of a sent task.
 *
 * @example
 * const r = await add.delay(2, 2)
 * await r.get({ timeout: 5_000 }) // 4
 */
export class AsyncResult<T = unknown> {
  readonly id: string
  /** The previous step of a chain, when this handle came from one. */
  readonly parent: AsyncResult<unknown> | undefined
  /**
   * The task stores no result (`ignoreResult`), so `get()` resolves to `undefined` at once
   * (Celery's `AsyncResult.ignored`). Known to the handle of a send of such a task and to
   * `task.AsyncResult(id)`; `app.AsyncResult(id)` cannot know it.
   */
  readonly ignored: boolean
  readonly #source: ResultSource

  /** @internal Throws ConfigError for an id that is not a non-empty string. */
  constructor(id: string, source: ResultSource, parent?: AsyncResult<unknown>, ignored = false) {
    if (typeof id !== 'string' || id.length === 0) checkName(id, 'AsyncResult(id): the task id')
    this.id = id
    this.#source = source
    this.parent = parent
    this.ignored = ignored
  }

  /** The current state (PENDING when unknown). */
  async state(): Promise<State> {
    return (await this.#source.read(this.id))?.state ?? PENDING
  }

  /** The result (SUCCESS), the error (FAILURE, REVOKED, RETRY), or the custom state's meta. */
  async info(): Promise<unknown> {
    const record = await this.#source.read(this.id)
    return record === undefined ? null : infoOf(record)
  }

  /** The whole record. */
  async status(): Promise<ResultStatus> {
    return statusOf(this.id, await this.#source.read(this.id))
  }

  /** Whether the state is final (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state())
  }

  /** Whether the task succeeded. */
  async successful(): Promise<boolean> {
    return (await this.state()) === SUCCESS
  }

  /** Whether the task failed for good (FAILURE; a revoked task has not failed). */
  async failed(): Promise<boolean> {
    return (await this.state()) === FAILURE
  }

  /**
   * Waits for the result. FAILURE rejects with the task's error (its own class where known, else
   * `TaskError`); REVOKED with `TaskRevokedError`; a timeout with `TimeoutError`. A failed
   * ancestor in a chain rejects before waiting, as in Celery. A handle that is `ignored`
   * resolves to `undefined` at once.
   */
  get(options?: GetOptions): Promise<T> {
    // Not an async function: the usual `get()` (no parent to check) is one `then` on the wait,
    // settling in as many turns, without the async function's own promise and resumption.
    try {
      const { timeout, propagate } = checkGetOptions(options)
      if (this.ignored) return Promise.resolve(undefined as T)
      if (propagate && this.parent !== undefined) return this.#getAfterParents(timeout)
      return this.#source.wait(this.id, timeout).then(propagate ? valueOrThrow : valueOrError) as Promise<T>
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** `get()` of a chain's step: a failed ancestor rejects before waiting, as in Celery. */
  async #getAfterParents(timeout: number | undefined): Promise<T> {
    for (let p = this.parent; p !== undefined; p = p.parent) {
      const record = await this.#source.read(p.id)
      if (record !== undefined && PROPAGATE_STATES.has(record.state)) throw errorOf(record)
    }
    return valueOrThrow(await this.#source.wait(this.id, timeout)) as T
  }

  /** Revokes the task: a pending one never runs; `terminate` also stops a running one. */
  async revoke(options: { terminate?: boolean } = {}): Promise<void> {
    await this.#source.revoke([this.id], checkRevokeOptions(options, 'revoke(options)'))
  }

  /**
   * Removes the stored result of this task and of its parents (a chain's earlier steps, a
   * chord's header), as Celery's `AsyncResult.forget`; the ids then report PENDING.
   */
  forget(): Promise<void> {
    return this.#source.forget(forgotten(this, []))
  }

  /** Handles of the tasks this task sent while it ran. */
  async children(): Promise<Array<AsyncResult<unknown>>> {
    const record = await this.#source.read(this.id)
    return (record?.children ?? []).map((id) => this.#source.handle(id))
  }

  /**
   * Yields every state update from now on (starting with the current state if the task has one),
   * in order, and ends when the task is ready. Rejects when its source can no longer deliver (a
   * remote app's channel closed: `ChannelClosedError`).
   */
  async *progress(): AsyncGenerator<StateUpdate, void, undefined> {
    const queue: ResultRecord[] = []
    let wake: (() => void) | undefined
    let failure: Error | undefined
    const stop = this.#source.watch(
      this.id,
      (record) => {
        queue.push(record)
        wake?.()
      },
      (error) => {
        failure = error
        wake?.()
      },
    )
    try {
      const current = await this.#source.read(this.id)
      let lastSeen: ResultRecord | undefined
      if (current !== undefined && queue.length === 0) {
        lastSeen = current
        yield { state: current.state, info: infoOf(current) }
        if (READY_STATES.has(current.state)) return
      }
      for (;;) {
        while (queue.length === 0) {
          if (failure !== undefined) throw failure
          await new Promise<void>((resolve) => (wake = resolve))
        }
        const record = queue.shift()!
        if (record === lastSeen) continue
        yield { state: record.state, info: infoOf(record) }
        if (READY_STATES.has(record.state)) return
      }
    } finally {
      stop()
    }
  }
}

/**
 * Handles of a group's tasks, in signature order.
 *
 * @example
 * const g = await group([1, 2, 3].map((i) => add.s(i, i))).delay()
 * await g.get()            // [2, 4, 6]
 * await g.completedCount() // 3
 */
export class GroupResult<T extends unknown[] = unknown[]> {
  readonly id: string
  readonly results: ReadonlyArray<AsyncResult<T[number]>>
  readonly parent: AsyncResult<unknown> | undefined

  /** @internal */
  constructor(id: string, results: ReadonlyArray<AsyncResult<T[number]>>, parent?: AsyncResult<unknown>) {
    this.id = id
    this.results = results
    this.parent = parent
  }

  /** Every result, in signature order; rejects with the first failure in that order. */
  async get(options: GetOptions = {}): Promise<T> {
    checkGetOptions(options)
    const out: unknown[] = []
    for (const result of this.results) out.push(await result.get(options))
    return out as T
  }

  /** Whether every member is final. */
  async ready(): Promise<boolean> {
    for (const result of this.results) if (!(await result.ready())) return false
    return true
  }

  /** How many members succeeded. */
  async completedCount(): Promise<number> {
    let count = 0
    for (const result of this.results) if (await result.successful()) count++
    return count
  }

  /** Whether every member succeeded. */
  async successful(): Promise<boolean> {
    return (await this.completedCount()) === this.results.length
  }

  /** Whether some member failed. */
  async failed(): Promise<boolean> {
    for (const result of this.results) if (await result.failed()) return true
    return false
  }

  /** Revokes every member (`terminate: true` also stops those running). */
  async revoke(options: { terminate?: boolean } = {}): Promise<void> {
    checkRevokeOptions(options, 'revoke(options)')
    for (const result of this.results) await result.revoke(options)
  }

  /** Removes the stored result of every member (Celery's `ResultSet.forget`). */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((result) => result.forget()))
  }
}

/**
 * The result of `task.apply()`: already final, held in memory (nothing stored).
 *
 * @example
 * const r = await add.apply([2, 2]) // runs here and now; nothing is stored
 * await r.get() // 4
 */
export class EagerResult<T = unknown> {
  readonly id: string
  readonly #state: State
  readonly #value: unknown

  /** @internal */
  constructor(id: string, state: State, value: unknown) {
    this.id = id
    this.#state = state
    this.#value = value
  }

  /** The final state: SUCCESS or FAILURE. */
  async state(): Promise<State> {
    return this.#state
  }

  /** The result, or the error. */
  async info(): Promise<unknown> {
    return this.#value
  }

  /** Always true: an eager result is final. */
  async ready(): Promise<boolean> {
    return true
  }

  /** Whether the task succeeded. */
  async successful(): Promise<boolean> {
    return this.#state === SUCCESS
  }

  /** Whether the task failed. */
  async failed(): Promise<boolean> {
    return this.#state === FAILURE
  }

  /** The result; rejects with the task's error unless `propagate: false`. */
  async get(options: GetOptions = {}): Promise<T> {
    const { propagate } = checkGetOptions(options)
    if (this.#state === SUCCESS) return this.#value as T
    if (propagate) throw this.#value
    return this.#value as T
  }
}

/** Options of `revoke()`. */
interface RevokeOptions {
  terminate?: boolean
}

/**
 * `get()`'s options, checked: a timeout that is NaN or negative would never fire (or fire at
 * once); Infinity is no timeout. A number alone (Celery's `get(timeout)`) is refused with the form to use.
 */
function checkGetOptions(options: GetOptions | undefined): { readonly timeout: number | undefined; readonly propagate: boolean } {
  // The usual `get()`: nothing to check, nothing to allocate (it is on every task's path).
  if (options === undefined) return GET_DEFAULTS
  if (typeof options === 'number') throw new ConfigError(`get() takes options: write get({ timeout: ${String(options)} })`)
  const o = checkOptionKeys<GetOptions>(options, GET_KEYS, 'get(options)')
  const timeout = o.timeout === undefined || o.timeout === Number.POSITIVE_INFINITY ? undefined : checkDuration(o.timeout, 'get(options): timeout')
  return { timeout, propagate: o.propagate === undefined ? true : checkBoolean(o.propagate, 'get(options): propagate') }
}

const GET_DEFAULTS = { timeout: undefined, propagate: true } as const
const GET_KEYS: ReadonlyArray<keyof GetOptions> = ['timeout', 'propagate']

/** @internal `revoke()`'s options, checked (AsyncResult, GroupResult, `app.control.revoke`). */
export function checkRevokeOptions(options: RevokeOptions, where: string): RevokeOptions {
  const o = checkOptionKeys<RevokeOptions>(options, ['terminate'], where)
  if (o.terminate !== undefined) checkBoolean(o.terminate, `${where}: terminate`)
  return o
}

/** The ids `forget()` removes: a result and its parents; for a group (a chord's header), its members'. */
function forgotten(handle: AsyncResult<unknown> | GroupResult, into: string[]): string[] {
  if (handle instanceof GroupResult) {
    for (const member of handle.results) forgotten(member, into)
    return into
  }
  into.push(handle.id)
  // A chord's body has its header, a GroupResult, as its parent.
  const parent = handle.parent as AsyncResult<unknown> | GroupResult | undefined
  return parent === undefined ? into : forgotten(parent, into)
}

/** @internal A handle from its JSON form (a send's handle, with `parent` links along a chain). */
export function handleFromJSON(json: HandleJSON, source: ResultSource): AsyncResult<unknown> | GroupResult {
  const parent = json.parent === null ? undefined : (handleFromJSON(json.parent, source) as AsyncResult<unknown>)
  if (json.kind === 'result') return new AsyncResult(json.id, source, parent, json.ignored === true)
  return new GroupResult(
    json.id,
    json.results.map((r) => handleFromJSON(r, source) as AsyncResult<unknown>),
    parent,
  )
}

/** A ready record's value for `get()`: the result, or its error thrown (`propagate`). */
function valueOrThrow(record: ResultRecord): unknown {
  if (record.state === SUCCESS) return decode(record.result ?? null)
  throw errorOf(record)
}

/** A ready record's value for `get({ propagate: false })`: the result, or its error returned. */
function valueOrError(record: ResultRecord): unknown {
  if (record.state === SUCCESS) return decode(record.result ?? null)
  return errorOf(record)
}

/** @internal */
function errorOf(record: ResultRecord): Error {
  if (record.result !== null) return decodeError(record.result)
  if (record.state === REVOKED) return new TaskRevokedError(`Task ${record.id} was revoked`)
  return new Error(`Task ${record.id} failed`)
}
