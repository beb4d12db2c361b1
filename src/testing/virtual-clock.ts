import type { Clock, ClockParticipant, TimerHandle } from '../core/time/clock.js'
import { TimeoutError } from '../core/model/errors.js'
import { Heap } from '../core/time/heap.js'

/**
 * A clock that moves only when the test says so.
 *
 * @example
 * const clock = virtualClock()
 * const app = new Celeriac({ clock })
 * await clock.advance(3_600_000) // an hour: every timer due on the way fires, in order
 * await clock.runAll()           // every timer left, until the engine is idle
 */
export interface VirtualClock extends Clock {
  now(): number
  /**
   * Moves time forward by `ms`, firing every timer that falls due in time order, and resolves
   * once nothing more can happen without moving time again.
   */
  advance(ms: number): Promise<void>
  /**
   * Advances timer to timer until no timer is left and every engine is idle. Throws TimeoutError
   * after `limit` firings (default 10 000), so an endless retry loop fails instead of hanging.
   * Resolves with the number of timers fired. Background timers (housekeeping such as the purge
   * of expired results) fire on the way but are not counted, and are not run to when only they
   * are left.
   */
  runAll(options?: { limit?: number }): Promise<number>
  /** How many timers are waiting (background ones not counted). */
  pending(): number
}

class VirtualTimer {
  constructor(
    readonly at: number,
    readonly seq: number,
    readonly fn: () => void,
    readonly background: boolean,
  ) {}
  /** Fired or cleared. */
  done = false
}

/** 2025-01-01T00:00:00Z: a fixed start so tests are deterministic. */
const DEFAULT_START = 1_735_689_600_000

/**
 * A virtual clock for tests: pass it as `clock` in the app config, and every engine timer
 * (countdowns, etas, retries, rate limits, expiries, time limits, `self.sleep`, `get({ timeout })`)
 * runs on it.
 *
 * @example
 * const clock = virtualClock()
 * const app = new Celeriac({ clock })
 * const r = await report.applyAsync([], { countdown: 3_600_000 })
 * await clock.advance(3_600_000)
 * await r.get() // done, in milliseconds of real time
 */
export function virtualClock(options: { now?: number | Date } = {}): VirtualClock {
  let now = options.now instanceof Date ? options.now.getTime() : (options.now ?? DEFAULT_START)
  let seq = 0
  const heap = new Heap<VirtualTimer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq))
  /** Timers not done and not background: what runAll runs to and pending() counts. */
  let foreground = 0
  const participants = new Set<ClockParticipant>()
  let flushScheduled = false

  const peek = (): VirtualTimer | undefined => {
    let top = heap.peek()
    while (top?.done) {
      heap.pop()
      top = heap.peek()
    }
    return top
  }
  /** Foreground timers fired so far (runAll's count and limit leave background ones out). */
  let firedForeground = 0
  const fire = (timer: VirtualTimer): void => {
    heap.pop()
    timer.done = true
    if (!timer.background) {
      foreground--
      firedForeground++
    }
    timer.fn()
  }

  // A timer already due fires soon even if nobody advances (like setTimeout(fn, 0)).
  const flushDue = (): void => {
    flushScheduled = false
    for (let t = peek(); t !== undefined && t.at <= now; t = peek()) fire(t)
  }

  // One turn of the real event loop; setImmediate where it exists (setTimeout(0) is >= 1 ms in Node).
  // Not a MessageChannel message, though a third cheaper in Node: it is handled before the
  // setImmediate callbacks that code under test queued (BullMQ's Worker), which then miss the turn.
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate
  const realTick = (): Promise<void> => new Promise((resolve) => (immediate !== undefined ? immediate(resolve) : setTimeout(resolve, 0)))

  const allQuiet = (): boolean => {
    for (const p of participants) if (!p.isQuiet()) return false
    return true
  }

  // Waits until every engine is quiet and stays quiet across a real macrotask turn, so promise
  // chains in test and task code (which the engine cannot see) have settled too.
  const settle = async (): Promise<void> => {
    for (;;) {
      await Promise.all([...participants].map((p) => p.whenQuiet()))
      await realTick()
      flushDue()
      if (allQuiet()) return
    }
  }

  const fireNext = (until: number): boolean => {
    const next = peek()
    if (next === undefined || next.at > until) return false
    if (next.at > now) now = next.at
    // Everything due at the same instant fires together, then the engines settle once.
    for (let t = peek(); t !== undefined && t.at <= now; t = peek()) fire(t)
    return true
  }

  return {
    now: () => now,
    setTimer(at, fn, options) {
      const timer = new VirtualTimer(at, ++seq, fn, options?.background === true)
      if (!timer.background) foreground++
      heap.push(timer)
      if (at <= now && !flushScheduled) {
        flushScheduled = true
        queueMicrotask(flushDue)
      }
      return timer
    },
    clearTimer(handle: TimerHandle) {
      if (!(handle instanceof VirtualTimer) || handle.done) return
      handle.done = true
      if (!handle.background) foreground--
    },
    attach(participant) {
      participants.add(participant)
      return () => participants.delete(participant)
    },
    async advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms) needs a non-negative number, got ${String(ms)}`)
      const target = now + ms
      await settle()
      while (fireNext(target)) await settle()
      now = target
      await settle()
    },
    async runAll(options = {}) {
      const limit = options.limit ?? 10_000
      let fired = 0
      await settle()
      for (;;) {
        if (foreground === 0) return fired
        if (fired >= limit) {
          throw new TimeoutError(
            `runAll() fired ${String(limit)} timers and more are pending: something keeps scheduling work (an endless retry loop?). Raise { limit } if this is expected.`,
          )
        }
        const before = firedForeground
        fireNext(Number.POSITIVE_INFINITY)
        if (firedForeground > before) fired++
        await settle()
      }
    },
    pending: () => foreground,
  }
}
