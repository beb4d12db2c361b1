import type { QueueState } from './queue-state.js'

// Taken at load: a test that fakes timers must not freeze a blocking read (Redis' server-side
// timeouts are not faked either).
const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout
const POLL_MS = 250

/**
 * What a waiting worker is told now, if anything: work to claim (score 0), or the delay marker
 * (score: when the next delayed job is due, on the caller's frame).
 */
function takeMarker(q: QueueState): { member: string; score: number } | null {
  if (q.hasReadyWork()) return { member: '0', score: 0 }
  if (q.delayMarker) {
    q.delayMarker = false
    const due = q.nextDelayed()
    if (due !== undefined) return { member: '1', score: q.store.toCallerTime(due) }
  }
  return null
}

/**
 * The blocking waits of a backend: a worker's wait for work (BZPOPMIN on Redis) and a
 * QueueEvents reader's wait for events (XREAD BLOCK). Both end early on `interrupt()`, and a
 * wait that starts while interrupted returns at once (a Worker may enter one just as it closes).
 */
export class BlockingWaits {
  readonly #cancels = new Set<() => void>()
  #interrupted = false

  get interrupted(): boolean {
    return this.#interrupted
  }

  /** Ends every wait in progress and every wait started before `resume()`. */
  interrupt(): void {
    this.#interrupted = true
    for (const cancel of [...this.#cancels]) cancel()
  }

  /** Ends every wait in progress, without blocking later ones. */
  cancelAll(): void {
    for (const cancel of [...this.#cancels]) cancel()
  }

  resume(): void {
    this.#interrupted = false
  }

  /**
   * Waits for work on `q`: `{ score: 0 }` as soon as a worker could claim something (now, or
   * when the next delayed job falls due on the store's clock), null on timeout or interrupt.
   */
  waitForJob(q: QueueState, timeoutSec: number): Promise<{ member: string; score: number } | null> {
    if (this.#interrupted) return Promise.resolve(null)
    const now = takeMarker(q)
    if (now !== null) return Promise.resolve(now)
    const clock = q.store.clock
    return new Promise((resolve) => {
      const timers: unknown[] = []
      let done = false
      const finish = (value: { member: string; score: number } | null): void => {
        if (done) return
        done = true
        q.blockedWaits--
        off()
        for (const t of timers) clock.clearTimer(t as object)
        this.#cancels.delete(cancel)
        resolve(value)
      }
      let aimed: number | undefined
      const aim = (): void => {
        // the delayed set may have changed: aim a timer at its head
        const due = q.nextDelayed()
        if (due !== undefined && due !== aimed) {
          aimed = due
          timers.push(
            clock.setTimer(due, () => {
              // a host timer may fire a little before the wall clock reads `due`: aim again
              aimed = undefined
              check()
            }),
          )
        }
      }
      const check = (): void => {
        if (done) return
        const marker = takeMarker(q)
        if (marker !== null) finish(marker)
        else aim()
      }
      // On the real clock a test may move `Date` (fake timers) past a due time without any
      // timer of ours noticing: look again now and then while something is delayed.
      const poll = (): void => {
        if (done) return
        if (q.delayed.size > 0) check()
        if (!done) timers.push(clock.setTimer(q.now() + POLL_MS, poll))
      }
      const arm = (): void => {
        q.blockedWaits++
        // Aimed first, so that at an equal time the delayed job's timer fires before the timeout.
        aim()
        // The wait's own timeout is not work: a virtual clock's runAll does not run time up to it
        // nor count it (the timer aimed at a delayed job is work, and stays foreground).
        timers.push(clock.setTimer(q.now() + Math.max(0, timeoutSec) * 1000, () => finish(null), { background: true }))
        if (!q.store.virtual) timers.push(clock.setTimer(q.now() + POLL_MS, poll))
      }
      const cancel = (): void => finish(null)
      const off = q.onWake(check)
      this.#cancels.add(cancel)
      arm()
    })
  }

  /** Waits until `subscribe`'s callback fires, `timeoutMs` passes (real time) or an interrupt. */
  waitFor(subscribe: (wake: () => void) => () => void, timeoutMs: number): Promise<void> {
    if (this.#interrupted) return Promise.resolve()
    return new Promise((resolve) => {
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        off()
        realClearTimeout(timer)
        this.#cancels.delete(finish)
        resolve()
      }
      const off = subscribe(finish)
      const timer = realSetTimeout(finish, Math.max(1, timeoutMs))
      this.#cancels.add(finish)
    })
  }
}
