/**
 * Rate limits: one token bucket per task name per engine with capacity 1, as Celery's worker
 * does (kombu TokenBucket): executions are spaced evenly ('6/m' is one every 10 s), no burst.
 */
export class RateLimiter {
  /** Interval between executions per task name, ms. */
  readonly #intervals = new Map<string, number | null>()
  /** When the next token is available per task name (epoch ms). */
  readonly #next = new Map<string, number>()

  /**
   * Sets (or clears with null) the interval for a task name. A new rate starts a fresh bucket
   * with its token available, as Celery's `reset_rate_limits` makes a new TokenBucket.
   */
  set(name: string, interval: number | null): void {
    this.#intervals.set(name, interval)
    this.#next.delete(name)
  }

  /** The interval set for the name (an override or the task's option; null: no limit), undefined if none was set. */
  interval(name: string): number | null | undefined {
    return this.#intervals.get(name)
  }

  /**
   * Takes the token of `name` if it is available at `now` and returns 0; otherwise returns the
   * time (epoch ms) at which it will be.
   */
  take(name: string, now: number): number {
    const interval = this.#intervals.get(name)
    if (interval == null) return 0
    const next = this.#next.get(name) ?? now
    if (next > now) return next
    this.#next.set(name, now + interval)
    return 0
  }
}
