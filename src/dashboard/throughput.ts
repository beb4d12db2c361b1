/**
 * Tasks ended per second over the last minute, overall (for the chart) and by queue (for the
 * queues' rates). Counted when the dashboard hears the event, on the page's real clock: the
 * app's clock may be virtual, and an event's arrival is what a reader watches.
 */

/** Seconds of history kept. */
const WINDOW_S = 60

export class Throughput {
  #origin = 0
  readonly #succeeded = new Float64Array(WINDOW_S)
  readonly #failed = new Float64Array(WINDOW_S)
  readonly #byQueue = new Map<string, Float64Array>()

  /** Counts a `task-succeeded` or `task-failed` heard at `nowMs`. */
  count(kind: 'succeeded' | 'failed', queue: string, nowMs: number): void {
    const second = this.#advance(nowMs)
    const slot = second % WINDOW_S
    const series = kind === 'succeeded' ? this.#succeeded : this.#failed
    series[slot] = (series[slot] ?? 0) + 1
    let q = this.#byQueue.get(queue)
    if (q === undefined) this.#byQueue.set(queue, (q = new Float64Array(WINDOW_S)))
    q[slot] = (q[slot] ?? 0) + 1
  }

  /** The chart's data at `nowMs`: x in epoch seconds, the two series, oldest first. */
  series(nowMs: number): [number[], number[], number[]] {
    const now = this.#advance(nowMs)
    const x: number[] = []
    const ok: number[] = []
    const bad: number[] = []
    for (let s = now - WINDOW_S + 1; s <= now; s++) {
      x.push(s)
      ok.push(this.#succeeded[s % WINDOW_S] ?? 0)
      bad.push(this.#failed[s % WINDOW_S] ?? 0)
    }
    return [x, ok, bad]
  }

  /** Tasks of `queue` ended in the last minute, per minute. */
  perMinute(queue: string, nowMs: number): number {
    this.#advance(nowMs)
    const q = this.#byQueue.get(queue)
    return q === undefined ? 0 : q.reduce((a, b) => a + b, 0)
  }

  /** Moves the window to `nowMs`'s second, clearing the seconds it passed; returns that second. */
  #advance(nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    if (this.#origin === 0) this.#origin = second
    if (second > this.#origin) {
      const steps = Math.min(second - this.#origin, WINDOW_S)
      for (let i = 1; i <= steps; i++) {
        const slot = (this.#origin + i) % WINDOW_S
        this.#succeeded[slot] = 0
        this.#failed[slot] = 0
        for (const q of this.#byQueue.values()) q[slot] = 0
      }
      this.#origin = second
    }
    return this.#origin
  }
}
