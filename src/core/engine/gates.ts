/**
 * The gates a ready message passes before it runs (the dispatcher asks them in order): not
 * revoked, not expired, the network up for `requires: 'online'` tasks, a rate-limit token. A
 * message that fails one is ended (revoked, expired), held until the network is back, or parked
 * until the next token.
 */
import type { TaskMessage } from '../model/message.js'
import { parseRate } from '../model/validate.js'
import type { TimerHandle } from '../time/clock.js'
import { RateLimiter } from '../time/rate-limit.js'
import { revokedFor } from './failure.js'
import type { Failure } from './failure.js'
import type { UnrunReason } from './queue.js'
import type { EngineState } from './state.js'

/** What {@link Gates.admit} says of a message. */
export type Admission = 'held' | 'passed' | 'open'

export class Gates {
  readonly #state: EngineState
  readonly #failure: Failure
  readonly #rates = new RateLimiter()
  readonly #rateParked = new Map<string, TaskMessage[]>()
  readonly #rateTimers = new Set<TimerHandle>()
  /** Messages of `requires: 'online'` tasks held while the network is down. */
  #offline: TaskMessage[] = []

  constructor(state: EngineState, failure: Failure) {
    this.#state = state
    this.#failure = failure
  }

  /** Ends messages that will not run: REVOKED (revoked, or not started before they expired). */
  finishUnrun(items: Array<[TaskMessage, UnrunReason]>): void {
    for (const [message, reason] of items) void this.#failure.end(message, revokedFor(message, reason))
  }

  /**
   * The offline and rate gates, in that order: a message of a `requires: 'online'` task is held
   * while the network is down; one of a rate-limited task takes its token or is parked until
   * the next. `'open'`: it passed, and its task has neither gate, so the dispatcher may let the
   * next messages of that task through without asking again in the same pump.
   */
  admit(message: TaskMessage): Admission {
    const state = this.#state
    const name = message.task
    const task = state.config.profile(name)
    const online = task?.requires === 'online'
    if (online && !state.config.network.isOnline()) {
      this.#offline.push(message)
      return 'held'
    }
    let interval = this.#rates.interval(name)
    if (interval === undefined) {
      interval = parseRate(task?.rateLimit ?? null, `rate limit of '${name}'`)
      this.#rates.set(name, interval)
    }
    if (interval === null) return online ? 'passed' : 'open'
    return this.#takeToken(message, state.clock.now()) ? 'passed' : 'held'
  }

  /** Back online: the held messages go back to their queues, in their order. */
  onNetwork(): void {
    const state = this.#state
    if (this.#offline.length === 0 || !state.config.network.isOnline()) return
    const held = this.#offline
    this.#offline = []
    for (const message of held) state.scheduler.add(message)
    state.schedulePump()
  }

  /** Takes the task's rate-limit token, or parks the message until the next token (others pass it). */
  #takeToken(message: TaskMessage, now: number): boolean {
    const state = this.#state
    const name = message.task
    const due = this.#rates.take(name, now)
    if (due === 0) return true
    if (state.transport !== undefined) {
      // Given back to the broker until its token, as Celery's worker does not let a task waiting
      // for a token hold its prefetch window: others of its queue pass it.
      state.known.delete(message.id)
      void state
        .hold(state.transport.giveBack([message.id], due))
        .catch((error: unknown) => state.log(`celeriac: could not defer a rate-limited message: ${String(error)}`))
      return false
    }
    let parked = this.#rateParked.get(name)
    if (parked === undefined) {
      parked = []
      this.#rateParked.set(name, parked)
      const timer = state.clock.setTimer(due, () => {
        this.#rateTimers.delete(timer)
        const waiting = this.#rateParked.get(name) ?? []
        this.#rateParked.delete(name)
        if (!state.consuming) return
        for (const m of waiting) state.scheduler.add({ ...m, eta: null })
        state.schedulePump()
      })
      this.#rateTimers.add(timer)
    }
    parked.push(message)
    return false
  }

  /** Changes a task's rate limit live (`app.control.rateLimit`). */
  setRateLimit(name: string, interval: number | null): void {
    const state = this.#state
    this.#rates.set(name, interval)
    // Parked messages get a fresh look at the new rate at once.
    const waiting = this.#rateParked.get(name)
    if (waiting !== undefined) {
      this.#rateParked.delete(name)
      for (const m of waiting) state.scheduler.add({ ...m, eta: null })
    }
    state.schedulePump()
  }

  /** Ids of the messages held here: offline, or parked for a rate-limit token (KnownIds). */
  idsHeld(): string[] {
    return [...this.#offline, ...this.parked()].map((message) => message.id)
  }

  /** Messages parked for a rate-limit token. */
  parked(): TaskMessage[] {
    return [...this.#rateParked.values()].flat()
  }

  /** Removes rate-parked messages that match. */
  unpark(predicate: (message: TaskMessage) => boolean): TaskMessage[] {
    const removed: TaskMessage[] = []
    for (const [name, list] of this.#rateParked) {
      const kept = list.filter((m) => !predicate(m))
      if (kept.length !== list.length) {
        removed.push(...list.filter(predicate))
        this.#rateParked.set(name, kept)
      }
    }
    return removed
  }

  stop(): void {
    for (const timer of this.#rateTimers) this.#state.clock.clearTimer(timer)
  }
}
