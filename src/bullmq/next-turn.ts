/**
 * Resolves on a later turn of the event loop, as a reply from a server would. BullMQ's classes
 * were written against Redis, where every call takes a round trip; some of their steps (a
 * Worker's loop winding down after `pause()`) count on other code running meanwhile. Taken at
 * load, so a test that fakes timers does not stop it.
 */
const schedule: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? ((set) => (fn: () => void) => {
        set(fn)
      })(globalThis.setImmediate)
    : ((set) => (fn: () => void) => {
        set(fn, 0)
      })(globalThis.setTimeout)

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => schedule(resolve))
}
