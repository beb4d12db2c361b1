/**
 * The commit queue: the writes of one tick (sends, leases, STARTED records, outcomes, progress)
 * go to storage in one call, and the steps that follow them run in the order they were queued.
 * Every other storage call goes through {@link CommitQueue.store}, which issues the waiting batch
 * first, so storage sees the engine's calls in the order it made them.
 */
import { StorageError } from '../model/errors.js'
import { microtask } from '../time/microtask.js'
import { NONE } from '../model/context.js'
import type { Mutation, Storage, StorageKey, StoredValue, TransactStep } from '../../storage/types.js'
import { RESOLVED } from './state.js'
import type { EngineState } from './state.js'

export class CommitQueue {
  readonly #state: EngineState
  /**
   * The writes of the commits waiting for the end of the tick (see {@link commitThen}): the
   * first commit's own array while it is the only one that wrote (`#ownBatch` false; never
   * changed, so its caller's array stays as it gave it), a copy once another adds to it.
   */
  #batch: readonly Mutation[] = NONE
  #ownBatch = false
  /**
   * The steps of the commits waiting, three slots each: `then`, its `arg`, and what it does if
   * the write fails (undefined: only the log says so). One array, not one per field, and reused
   * once a batch's steps have run (`#spare`): a flush per task (one at a time) allocated four.
   */
  #steps: unknown[] = []
  /** Slots of `#steps` in use. */
  #used = 0
  /** Step arrays whose batch is over, cleared, for the next batches (a few: batches overlap on slow storage). */
  readonly #spare: unknown[][] = []
  /** Steps that run once the batch is written, before it is committed (see {@link commitWritten}). */
  #early: Array<{ step: (arg: unknown) => void; arg: unknown; failed: ((arg: unknown, error: unknown) => void) | undefined }> | undefined
  /** Settles the sends that joined the batch (made when the first one does). */
  #written: Deferred | undefined
  #scheduled = false
  /**
   * The last write (or transact) issued. Adapters settle calls in call order, so once it settles
   * every write before it is stored: a batch with nothing to write waits for it (see {@link #flush}).
   */
  #lastWrite: Promise<unknown> = RESOLVED
  /** Batches issued whose steps have not run yet (an earlier pump's runs among them; see {@link afterStored}). */
  #unsettled = 0

  constructor(state: EngineState) {
    this.#state = state
  }

  /**
   * The storage, for a call made now: the commits of this tick that wait in the batch (see
   * {@link commitThen}) are issued first, so every call reaches storage in the order the
   * engine made it (adapters apply calls in call order).
   */
  store(): Storage {
    if (this.#used > 0 || this.#early !== undefined) this.#flush()
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
   * If the write fails, `failed(arg, error)` runs instead (for every commit of the batch that had
   * something to write: none of it is stored). `mutations` is kept as it is until the write (it
   * may go to storage as the batch itself): the caller must not change it after.
   */
  commitThen<T>(mutations: readonly Mutation[], then: (arg: T) => void, arg?: T, failed?: (arg: T, error: unknown) => void): void {
    if (mutations.length > 0) this.#add(mutations)
    const steps = this.#steps
    const at = this.#used
    steps[at] = then
    steps[at + 1] = arg
    // A commit with nothing to write is not failed by the others' writes: its step runs either way.
    steps[at + 2] = mutations.length === 0 ? then : failed
    this.#used = at + 3
    if (!this.#scheduled) this.#scheduleFlush()
  }

  /** Adds `mutations` to the waiting batch (see `#batch`). */
  #add(mutations: readonly Mutation[]): void {
    const batch = this.#batch
    if (batch.length === 0) {
      this.#batch = mutations
      return
    }
    let own: Mutation[]
    if (this.#ownBatch) own = batch as Mutation[]
    else {
      own = batch.slice()
      this.#batch = own
      this.#ownBatch = true
    }
    for (let i = 0; i < mutations.length; i++) own.push(mutations[i]!)
  }

  /**
   * As {@link commitThen} with nothing to write, but `then(arg)` runs now when nothing waits: no
   * commit in this tick's batch and every batch issued has run its steps (a run to start, sent
   * one at a time, goes to its worker without waiting for a turn). Memory storage only: it
   * applies every write and transact when it is made, so nothing issued is still to be stored.
   */
  afterStored<T>(then: (arg: T) => void, arg: T): void {
    if (this.#scheduled || this.#used > 0 || this.#early !== undefined || this.#unsettled > 0) {
      return this.commitThen(NONE, then, arg)
    }
    try {
      then(arg)
    } catch (error) {
      this.#state.log(`celeriac: an engine step after a commit threw: ${String(error)}`)
    }
  }

  /**
   * As {@link commitThen}, but `then` runs as soon as the batch would survive the death of this
   * process (WriteOptions.onWritten: file storage, once it is in the file, before fdatasync),
   * ahead of the batch's other steps; at its commit on a storage with no such moment. For the
   * lease of an early-ack run, whose body waits for it: an ack that survives a kill is enough
   * for at most once, and the body need not wait for the disk's flush too.
   */
  commitWritten<T>(mutations: readonly Mutation[], then: (arg: T) => void, arg: T, failed?: (arg: T, error: unknown) => void): void {
    if (mutations.length > 0) this.#add(mutations)
    ;(this.#early ??= []).push({ step: then as (arg: unknown) => void, arg, failed: failed as ((arg: unknown, error: unknown) => void) | undefined })
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
        if (this.#used > 0 || this.#early !== undefined) this.#scheduleFlush()
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
    const used = this.#used
    const early = this.#early
    if (used === 0 && early === undefined) return
    const state = this.#state
    const mutations = this.#batch
    const steps = this.#steps
    const written = this.#written
    this.#batch = NONE
    this.#ownBatch = false
    this.#steps = this.#spare.pop() ?? []
    this.#used = 0
    this.#written = undefined
    this.#early = undefined
    state.pendingOps++
    this.#unsettled++
    let onWritten: (() => void) | undefined
    if (early !== undefined) {
      onWritten = () => {
        if (onWritten === undefined) return
        onWritten = undefined
        for (const one of early) {
          try {
            one.step(one.arg)
          } catch (error) {
            state.log(`celeriac: an engine step after a write threw: ${String(error)}`)
          }
        }
      }
    }
    // A batch with nothing to write (runs to start) still waits for the writes issued before it:
    // a run starts only once the outcomes that made room for it are stored.
    const write =
      mutations.length === 0
        ? this.#lastWrite.then(noop, noop)
        : (this.#lastWrite = onWritten === undefined ? state.storage.write(mutations) : state.storage.write(mutations, { onWritten }))
    write.then(
      () => {
        // A storage with no earlier moment: they run now, first.
        onWritten?.()
        for (let i = 0; i < used; i += 3) {
          try {
            ;(steps[i] as (arg: unknown) => void)(steps[i + 1])
          } catch (error) {
            state.log(`celeriac: an engine step after a commit threw: ${String(error)}`)
          }
        }
        this.#recycle(steps, used)
        // The sends of the batch resolve after their messages are scheduled.
        written?.resolve()
        this.#unsettled--
        state.opDone()
      },
      (error: unknown) => {
        // Sends reject to their callers; the commits that say what to do then (a run's outcome
        // or start) do it; the rest (progress) has no caller: the log says it.
        this.logWriteFailure(error)
        written?.reject(error)
        // Not written, so they have not run: they fail with the rest.
        if (onWritten !== undefined && early !== undefined) {
          onWritten = undefined
          for (const one of early) if (one.failed !== undefined) this.#run((e) => one.failed!(one.arg, e), error)
        }
        for (let i = 0; i < used; i += 3) {
          const failed = steps[i + 2] as ((arg: unknown, error: unknown) => void) | undefined
          const arg = steps[i + 1]
          if (failed !== undefined) this.#run((e) => failed(arg, e), error)
        }
        this.#recycle(steps, used)
        this.#unsettled--
        state.opDone()
      },
    )
  }

  /** `steps`, whose first `used` slots have run, cleared (nothing kept alive) for a later batch. */
  #recycle(steps: unknown[], used: number): void {
    if (this.#spare.length >= SPARE_STEP_ARRAYS) return
    // `fill`, not a loop of stores: on file storage that loop's optimized code kept bailing out
    // ("insufficient type feedback for generic keyed access") and being compiled again, 1 to 65
    // times a run of 20,000 tasks (NOTES.md, "Engine CPU per task, cpu7").
    steps.fill(undefined, 0, used)
    this.#spare.push(steps)
  }

  /** Runs a step after a failed write; one that throws is logged, the others still run. */
  #run(failed: (error: unknown) => void, error: unknown): void {
    try {
      failed(error)
    } catch (thrown) {
      this.#state.log(`celeriac: an engine step after a failed commit threw: ${String(thrown)}`)
    }
  }

  /**
   * Runs `then` after `op`, counting it as engine work until both are done; if `op` fails,
   * `failed` (or, without one, the log).
   */
  track(op: Promise<void>, then: () => void, failed?: (error: unknown) => void): Promise<void> {
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
        // Work that follows a task has no caller to reject to: report it on the log event, let
        // `failed` end what depended on it, and keep the engine going.
        this.logWriteFailure(error)
        if (failed !== undefined) this.#run(failed, error)
        state.opDone()
      },
    )
  }

  logWriteFailure(error: unknown): void {
    const wrapped = error instanceof StorageError ? error : new StorageError('A storage write failed', { cause: error })
    this.#state.log(`${wrapped.message}: ${String(error)}`)
  }
}

const noop = (): void => undefined

/** Step arrays kept for reuse: enough for the batches in flight at once on a slow storage. */
const SPARE_STEP_ARRAYS = 4

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
