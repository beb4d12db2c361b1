/**
 * The progress window: how often a run's state updates (`self.progress`, `self.updateState`)
 * are stored. The first update of a run, and any that comes {@link PROGRESS_WINDOW_MS} or more
 * after the last one stored, is stored at once; one that comes sooner is held, the latest
 * replacing the one before, and stored when the window ends. A held update whose run has ended
 * by then is dropped: the outcome's record replaces it in storage, so storage never shows a
 * progress after the outcome. Events and this process's watchers hear every update at once
 * (see Outcomes.onState); only the stored record, and what is built from it (state() and info()
 * read from storage, another process's `task-progress` through a transport), is coalesced.
 */
import type { ResultRecord } from '../model/message.js'
import type { TimerHandle } from '../time/clock.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { EngineState, Running } from './state.js'

/**
 * At most one stored state update per run in this many ms of the engine's clock (the engine's,
 * not the wall's, so a virtual clock makes it deterministic). A UI polling storage sees 20
 * updates a second at most, more than a progress bar shows; a task reporting every 1% of a
 * few seconds' work writes a few dozen records instead of a hundred.
 */
const PROGRESS_WINDOW_MS = 50

interface Held {
  readonly run: Running
  record: ResultRecord
}

export class ProgressWindow {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  /** The latest update of each run that came within its window, not stored yet. */
  readonly #held = new Map<string, Held>()
  /** One timer for all held updates, at the earliest end of their windows. */
  #timer: TimerHandle | undefined
  #timerAt = Number.POSITIVE_INFINITY

  constructor(state: EngineState, commits: CommitQueue) {
    this.#state = state
    this.#commits = commits
  }

  /**
   * Whether `record`, the new state of `run`, is to be stored now (the caller writes it), or
   * was held to be stored when the run's window ends.
   */
  storeNow(run: Running, record: ResultRecord): boolean {
    const now = this.#state.clock.now()
    let held = this.#held.get(record.id)
    // Held for an earlier run of the same id that ended without an outcome (a hard time limit,
    // a terminate): that update is dead, and this run's window is its own.
    if (held !== undefined && held.run !== run) {
      this.#held.delete(record.id)
      held = undefined
    }
    if (held === undefined && now - run.progressAt >= PROGRESS_WINDOW_MS) {
      run.progressAt = now
      return true
    }
    if (held === undefined) this.#held.set(record.id, { run, record })
    else held.record = record
    this.#arm(run.progressAt + PROGRESS_WINDOW_MS)
    return false
  }

  /** Forgets the held update of run `id` (its outcome supersedes it). */
  drop(id: string): void {
    // Every outcome's path: most runs never held an update.
    if (this.#held.size > 0) this.#held.delete(id)
  }

  /** Forgets every held update and its timer (the engine stops). */
  stop(): void {
    this.#held.clear()
    if (this.#timer !== undefined) this.#state.clock.clearTimer(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  #arm(at: number): void {
    if (at >= this.#timerAt) return
    const clock = this.#state.clock
    if (this.#timer !== undefined) clock.clearTimer(this.#timer)
    this.#timerAt = at
    // Background: a held update is not work to wait for (the run it belongs to is).
    this.#timer = clock.setTimer(at, this.#fire, { background: true })
  }

  /** Stores the held updates whose window has ended, in one commit; re-arms for the rest. */
  readonly #fire = (): void => {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const state = this.#state
    if (state.closed) return
    const now = state.clock.now()
    let mutations: Mutation[] | undefined
    let next = Number.POSITIVE_INFINITY
    for (const [id, held] of this.#held) {
      const run = held.run
      // Ended meanwhile (an outcome, a time limit, a revoke): its end's write supersedes it.
      if (run.settled || state.running.get(id) !== run) {
        this.#held.delete(id)
        continue
      }
      const due = run.progressAt + PROGRESS_WINDOW_MS
      if (due > now) {
        next = Math.min(next, due)
        continue
      }
      run.progressAt = now
      ;(mutations ??= []).push(state.put(held.record))
      this.#held.delete(id)
    }
    // Its event and watchers were told when it came: nothing follows the write.
    if (mutations !== undefined) this.#commits.commitThen(mutations, noop)
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next)
  }
}

const noop = (): void => undefined
