/**
 * Keeps a worker pool at its size: loads workers, and after a failed load tries again with
 * backoff on the engine clock, one worker at a time until one loads (then the rest at once).
 * It also knows how long the pool has had no loaded worker, so that the tasks waiting for one
 * fail with WorkerLoadError after `loadTimeout` instead of waiting for good, and it holds the
 * engine while tasks wait for a load in flight.
 */
import { WorkerLoadError } from '../model/errors.js'
import type { Clock, TimerHandle } from '../time/clock.js'
import type { PoolHealth } from './types.js'
import type { LoadSchedule } from './load-options.js'

/** What the loader needs from its pool. */
export interface LoaderHooks {
  /** Loads one worker: resolves once it is ready to take tasks, rejects if it cannot load. */
  load(): Promise<void>
  /** Workers loaded and taking tasks. */
  live(): number
  /** Whether tasks wait for a worker. */
  waiting(): boolean
  /** The pool has had no worker for `loadTimeout`: what waits fails now (see `expiredError`). */
  expired(): void
}

interface RetryTimer {
  readonly handle: TimerHandle
  readonly at: number
  /** Nothing waited for a worker when it was armed: a virtual clock's runAll does not run to it. */
  readonly background: boolean
}

export class WorkerLoader {
  readonly #name: string
  readonly #module: string
  readonly #schedule: LoadSchedule
  readonly #hooks: LoaderHooks
  #clock: Clock | undefined
  #hold: ((work: Promise<unknown>) => void) | undefined
  /** Ends the engine's hold (see `#updateHold`). */
  #releaseHold: (() => void) | undefined
  #running = false
  /** Workers to load that are not loading. */
  #missing = 0
  #loading = 0
  /** Failed loads in a row: the backoff's exponent, and "try one at a time" while > 0. */
  #failuresInRow = 0
  #failedLoads = 0
  #lastError: Error | undefined
  /** Engine time since when no worker is loaded; undefined while one is. */
  #downSince: number | undefined
  #failedSinceDown = 0
  #retry: RetryTimer | undefined
  #deadline: TimerHandle | undefined

  constructor(name: string, module: string, schedule: LoadSchedule, hooks: LoaderHooks) {
    this.#name = name
    this.#module = module
    this.#schedule = schedule
    this.#hooks = hooks
  }

  /** Loads `count` workers at once (the pool's start); settles with each load's outcome. */
  start(clock: Clock, hold: (work: Promise<unknown>) => void, count: number): Promise<PromiseSettledResult<void>[]> {
    this.#clock = clock
    this.#hold = hold
    this.#running = true
    this.#missing = 0
    this.#failuresInRow = 0
    this.#failedLoads = 0
    this.#lastError = undefined
    this.#downSince = clock.now()
    this.#failedSinceDown = 0
    return Promise.allSettled(Array.from({ length: count }, () => this.#loadOne()))
  }

  /** A loaded worker is gone (died, terminated): load another. */
  lost(): void {
    if (!this.#running) return
    this.#missing++
    if (this.#downSince === undefined && this.#hooks.live() === 0) {
      this.#downSince = this.#clock!.now()
      this.#failedSinceDown = 0
      // Runs held behind a full worker wait on, now with a deadline.
      this.#armDeadline()
    }
    this.#fill()
  }

  /**
   * Whether tasks wait for a worker changed. While they do, the next retry is work to wait for
   * and their deadline is armed; once none does, retries are housekeeping again (a virtual
   * clock's runAll does not chase a module that never loads).
   */
  waitingChanged(): void {
    if (!this.#running) return
    const clock = this.#clock!
    const waiting = this.#hooks.waiting()
    this.#rearm(!waiting)
    if (waiting) this.#armDeadline()
    else {
      if (this.#deadline !== undefined) clock.clearTimer(this.#deadline)
      this.#deadline = undefined
    }
    this.#updateHold()
  }

  /** While tasks wait and no worker is loaded: a timer at the moment they are to fail. */
  #armDeadline(): void {
    if (this.#downSince === undefined || this.#deadline !== undefined || !Number.isFinite(this.#schedule.loadTimeout)) return
    if (!this.#hooks.waiting()) return
    this.#deadline = this.#clock!.setTimer(this.#downSince + this.#schedule.loadTimeout, () => {
      this.#deadline = undefined
      this.#checkExpiry()
    })
  }

  /** The error waiting tasks fail with, when no worker has loaded within `loadTimeout`. */
  expiredError(): WorkerLoadError | undefined {
    if (!this.#expired()) return undefined
    const last = this.#lastError!
    return new WorkerLoadError(
      `${this.#name}: no worker could load ${this.#module} within loadTimeout (${String(this.#schedule.loadTimeout)} ms; ` +
        `${String(this.#failedSinceDown)} failed loads, the last: ${last.message}). Fix the module; the pool keeps trying to load it`,
      this.#module,
      { cause: last },
    )
  }

  health(size: number, replaced: number): PoolHealth {
    return {
      size,
      live: this.#hooks.live(),
      loading: this.#loading,
      failedLoads: this.#failedLoads,
      lastLoadError: this.#lastError?.message ?? null,
      replaced,
      nextLoadAt: this.#retry?.at ?? null,
      failing: this.#expired(),
    }
  }

  stop(): void {
    this.#running = false
    this.#missing = 0
    if (this.#retry !== undefined) this.#clock?.clearTimer(this.#retry.handle)
    if (this.#deadline !== undefined) this.#clock?.clearTimer(this.#deadline)
    this.#retry = undefined
    this.#deadline = undefined
    this.#updateHold()
  }

  /**
   * Tasks waiting for a worker that is loading wait for real I/O: the engine is held meanwhile,
   * so a virtual clock does not move past their loadTimeout while the load is on its way.
   */
  #updateHold(): void {
    const waitsForLoad = this.#running && this.#loading > 0 && this.#hooks.waiting()
    if (waitsForLoad && this.#releaseHold === undefined) this.#hold?.(new Promise<void>((resolve) => (this.#releaseHold = resolve)))
    else if (!waitsForLoad && this.#releaseHold !== undefined) {
      this.#releaseHold()
      this.#releaseHold = undefined
    }
  }

  #expired(): boolean {
    if (!this.#running || this.#downSince === undefined || this.#failedSinceDown === 0) return false
    return this.#clock!.now() >= this.#downSince + this.#schedule.loadTimeout
  }

  #checkExpiry(): void {
    if (this.#hooks.waiting() && this.#expired()) this.#hooks.expired()
  }

  #loadOne(): Promise<void> {
    this.#loading++
    this.#updateHold()
    return this.#hooks.load().then(
      () => {
        this.#loading--
        if (this.#running) {
          this.#failuresInRow = 0
          this.#downSince = undefined
          this.#failedSinceDown = 0
          if (this.#deadline !== undefined) this.#clock!.clearTimer(this.#deadline)
          this.#deadline = undefined
          // It loads again: the others need not wait out the backoff.
          if (this.#retry !== undefined) this.#clock!.clearTimer(this.#retry.handle)
          this.#retry = undefined
          this.#fill()
        }
        this.#updateHold()
      },
      (error: unknown) => {
        this.#loading--
        const failure = error instanceof Error ? error : new Error(String(error))
        if (this.#running) {
          this.#missing++
          this.#failuresInRow++
          this.#failedLoads++
          this.#lastError = failure
          if (this.#downSince !== undefined) this.#failedSinceDown++
          if (this.#retry === undefined) {
            const { initial, max } = this.#schedule
            this.#arm(this.#clock!.now() + Math.min(max, initial * 2 ** (this.#failuresInRow - 1)), !this.#hooks.waiting())
          }
          this.#checkExpiry()
        }
        this.#updateHold()
        throw failure
      },
    )
  }

  /** Loads what is missing: all at once while loads succeed, one at a time while they fail. */
  #fill(): void {
    if (!this.#running || this.#retry !== undefined) return
    const batch = this.#failuresInRow > 0 ? (this.#loading === 0 ? Math.min(1, this.#missing) : 0) : this.#missing
    this.#missing -= batch
    // A failed load is counted and retried in #loadOne; nothing more to do with it here.
    for (let i = 0; i < batch; i++) this.#loadOne().catch(() => undefined)
  }

  #rearm(background: boolean): void {
    const retry = this.#retry
    if (retry === undefined || retry.background === background) return
    this.#clock!.clearTimer(retry.handle)
    this.#arm(retry.at, background)
  }

  #arm(at: number, background: boolean): void {
    const handle = this.#clock!.setTimer(
      at,
      () => {
        this.#retry = undefined
        this.#fill()
      },
      { background },
    )
    this.#retry = { handle, at, background }
  }
}
