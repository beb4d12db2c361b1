/**
 * Every timer of the engine goes through a Clock, so tests can swap in a virtual one
 * (`celeriac/testing`'s `virtualClock()`) and run an hour of countdowns in milliseconds.
 *
 * @example
 * const app = new Celeriac({ clock: virtualClock() }) // the default is systemClock()
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number
  /**
   * Calls `fn` once the clock reaches `at` (epoch ms). Returns a handle for {@link Clock.clearTimer}.
   * A `background` timer is housekeeping (the purge of expired results): it fires when time
   * passes it but is not work to wait for: a virtual clock's `runAll` does not run time up to it,
   * and the system clock does not keep a Node process alive for it.
   */
  setTimer(at: number, fn: () => void, options?: TimerOptions): TimerHandle
  /** Cancels a timer `setTimer` returned; a fired or cleared one is ignored. */
  clearTimer(handle: TimerHandle): void
  /**
   * Called by an engine that uses this clock, so the clock can wait for it to go quiet (a
   * virtual clock's `advance` does). Returns a function that detaches it.
   */
  attach?(participant: ClockParticipant): () => void
  /**
   * Keeps the host running (a Node process does not exit) until the returned function is
   * called: how a consuming app stays up like a server between `start()` and `stop()` with
   * nothing to do. Optional: a clock without it (the virtual one) holds nothing.
   */
  hold?(): () => void
}

/**
 * Options of {@link Clock.setTimer}.
 *
 * @example
 * const clock = systemClock()
 * // Housekeeping: fires when its time comes, but keeps no process alive and no runAll() waiting.
 * clock.setTimer(clock.now() + 3_600_000, () => console.log('hourly sweep'), { background: true })
 */
export interface TimerOptions {
  readonly background?: boolean
}

/**
 * An opaque timer handle.
 *
 * @example
 * const clock = systemClock()
 * const handle: TimerHandle = clock.setTimer(clock.now() + 5_000, () => console.log('five seconds'))
 * clock.clearTimer(handle) // changed our mind
 */
export type TimerHandle = { readonly __timer: true } | object

/**
 * What a virtual clock needs from an engine: a way to wait until it has nothing left to do now.
 *
 * @example
 * // A clock of your own that attaches engines as the virtual clock does (here only counting them).
 * const participants = new Set<ClockParticipant>()
 * const clock: Clock = {
 *   now: () => Date.now(),
 *   setTimer: (at, fn) => setTimeout(fn, Math.max(0, at - Date.now())),
 *   clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
 *   attach: (participant) => {
 *     participants.add(participant)
 *     return () => participants.delete(participant)
 *   },
 * }
 */
export interface ClockParticipant {
  /** Resolves once nothing can happen without moving time: no task ready, none running but parked on a timer. */
  whenQuiet(): Promise<void>
  /** Whether it is quiet right now. */
  isQuiet(): boolean
}

// Node and browsers cap setTimeout at 2^31-1 ms (~24.8 days); longer delays re-arm.
const MAX_TIMEOUT = 2_147_483_647

class SystemTimer {
  id: ReturnType<typeof setTimeout> | undefined
}

/**
 * The real clock: `Date.now()` and `setTimeout`. The default.
 *
 * @example
 * const app = new Celeriac({ clock: systemClock() }) // the same as leaving `clock` out
 */
export function systemClock(): Clock {
  const arm = (timer: SystemTimer, at: number, fn: () => void, background: boolean): void => {
    const delay = at - Date.now()
    timer.id = setTimeout(
      () => {
        if (at - Date.now() > 0) arm(timer, at, fn, background)
        else fn()
      },
      Math.max(0, Math.min(delay, MAX_TIMEOUT)),
    )
    // Node's timers have unref; a browser's are numbers.
    if (background) (timer.id as { unref?: () => void }).unref?.()
  }
  return {
    now: () => Date.now(),
    setTimer(at, fn, options) {
      const timer = new SystemTimer()
      arm(timer, at, fn, options?.background === true)
      return timer
    },
    clearTimer(handle) {
      if (handle instanceof SystemTimer && handle.id !== undefined) clearTimeout(handle.id)
    },
    hold() {
      // A ref'd timer that never fires is what keeps Node's event loop alive; in a page it is inert.
      const id = setInterval(() => undefined, MAX_TIMEOUT)
      return () => clearInterval(id)
    },
  }
}
