/**
 * The commit queue: the writes of one tick (sends, leases, STARTED records, outcomes, progress)
 * go to storage in one call, and the steps that follow them run in the order they were queued.
 * Every other storage call goes through {@link CommitQueue.store}, which issues the waiting batch
 * first, so storage sees the engine's calls in the order it made them.
 */
import { StorageError } from '../model/errors.js'
import { microtask } from '../time/microtask.js'
import type { Mutation, Storage, StorageKey, StoredValue, TransactStep } from '../../storage/types.js'
import { RESOLVED } from './state.js'
import type { EngineState } from './state.js'

export class CommitQueue {
  readonly #state: EngineState
  /** Commits waiting for the end of the tick (see {@link commitThen}). */
  #batch: Mutation[] = []
  #thens: Array<(arg: unknown) => void> = []
  #args: unknown[] = []
  /** Settles the sends that joined the batch (made when the first one does). */
  #written: Deferred | undefined
  #scheduled = false
  /**
   * The last write (or transact) issued. Adapters settle calls in call order, so once it settles
   * every write before it is stored: a batch with nothing to write waits for it (see {@link #flush}).
   */
  #lastWrite: Promise<unknown> = RESOLVED

  constructor(state: EngineState) {
    this.#state = state
  }

  /**
   * The storage, for a call made now: the commits of this tick that wait in the batch (see
   * {@link commitThen}) are issued first, so every call reaches storage in the order the
   * engine made it (adapters apply calls in call order).
   */
  store(): Storage {
    if (this.#thens.length > 0) this.#flush()
    return this.#state.storage
  }

  commit(mutations: Mutation[]): Promise<void> {
    if (mutations.length === 0) return Promise.resolve()
    const write = this.store().write(mutations)
    this.#lastWrite = write
    return write
  }

  /** A read-modify-write step (a chord's counter), in order with the other writes. */
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    const done = this.store().transact(keys, step)
    this.#lastWrite = done
    return done
  }

  /**
   * Stores `mutations` together with the other commits of this tick (one storage call, one
   * promise for all of them, instead of one each), then runs `then(arg)`. For sends and for the
   * writes that follow every run (STARTED, outcomes, progress, leases). `then` is a shared
   * function given the run or messages as `arg`, so the hot paths make no closure per task.
   */
  commitThen<T>(mutations: readonly Mutation[], then: (arg: T) => void, arg?: T): void {
    for (let i = 0; i < mutations.length; i++) this.#batch.push(mutations[i]!)
    this.#thens.push(then as (arg: unknown) => void)
    this.#args.push(arg)
    if (!this.#scheduled) this.#scheduleFlush()
  }

  /**
   * Runs `work` (which may queue commits) and issues what it queued in one batch once it is
   * done, not earlier: the inline executor's runs report at once, and what they report joins
   * the write of their start.
   */
  holding(work: () => void): void {
    const scheduled = this.#scheduled
    this.#scheduled = true
    try {
      work()
    } finally {
      if (!scheduled) {
        this.#scheduled = false
        if (this.#thens.length > 0) this.#scheduleFlush()
      }
    }
  }

  #scheduleFlush(): void {
    this.#scheduled = true
    // Counted as engine work until it is issued: the clock and whenIdle wait for it.
    this.#state.pendingOps++
    microtask(this.#flushSoon)
  }

  /** The promise the sends that joined this tick's batch resolve with (once it is stored and they are scheduled). */
  written(): Promise<void> {
    return (this.#written ??= deferred()).promise
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false
    this.#flush()
    this.#state.opDone()
  }

  #flush(): void {
    const thens = this.#thens
    if (thens.length === 0) return
    const state = this.#state
    const mutations = this.#batch
    const args = this.#args
    const written = this.#written
    this.#batch = []
    this.#thens = []
    this.#args = []
    this.#written = undefined
    state.pendingOps++
    // A batch with nothing to write (runs to start) still waits for the writes issued before it:
    // a run starts only once the outcomes that made room for it are stored.
    const write = mutations.length === 0 ? this.#lastWrite.then(noop, noop) : (this.#lastWrite = state.storage.write(mutations))
    write.then(
      () => {
        for (let i = 0; i < thens.length; i++) {
          try {
            thens[i]!(args[i])
          } catch (error) {
            state.log(`celeriac: an engine step after a commit threw: ${String(error)}`)
          }
        }
        // The sends of the batch resolve after their messages are scheduled.
        written?.resolve()
        state.opDone()
      },
      (error: unknown) => {
        state.opDone()
        // Sends reject to their callers; the rest (outcomes, progress) has no caller: the log says it.
        written?.reject(error)
        this.logWriteFailure(error)
      },
    )
  }

  /** Runs `then` after `op`, counting it as engine work until both are done. */
  track(op: Promise<void>, then: () => void): Promise<void> {
    const state = this.#state
    state.pendingOps++
    return op.then(
      () => {
        try {
          then()
        } finally {
          state.opDone()
        }
      },
      (error: unknown) => {
        // Work that follows a task (its outcome, its state updates) has no caller to reject to:
        // report it on the log event and keep the engine going.
        state.opDone()
        this.logWriteFailure(error)
      },
    )
  }

  logWriteFailure(error: unknown): void {
    const wrapped = error instanceof StorageError ? error : new StorageError('A storage write failed', { cause: error })
    this.#state.log(`${wrapped.message}: ${String(error)}`)
  }
}

const noop = (): void => undefined

interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A batch whose sends all gave up waiting must not report an unhandled rejection.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}
