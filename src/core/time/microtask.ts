/**
 * Runs `fn` in a microtask. Not `queueMicrotask`: Node makes an AsyncResource and a bound
 * function for every call, which on the engine's per-tick paths cost more than the work they
 * schedule. A reaction on a settled promise is the cheapest microtask there is, in every engine.
 * `fn` must not throw (it would surface as an unhandled rejection).
 */
export function microtask(fn: () => void): void {
  void SETTLED.then(fn)
}

const SETTLED = Promise.resolve()
