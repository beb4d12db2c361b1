/**
 * `threads({ idleWait: 'atomics' })`: the counter through which the pool wakes a resting worker
 * (see `restingOn` in worker.ts). Each worker has its own; the pool bumps it and notifies after
 * every post to that worker.
 */

/** What a worker is given (`workerData.wake`) to rest on. */
export interface WakeData {
  /** One Int32 on a SharedArrayBuffer: bumped after every post to the worker. */
  readonly counter: Int32Array
  /** The longest a rest keeps the worker's event loop waiting, in ms. */
  readonly timeout: number
}

/** A counter for one worker; undefined where there is no SharedArrayBuffer (the worker then waits in its event loop). */
export function wakeData(timeout: number): WakeData | undefined {
  if (typeof SharedArrayBuffer !== 'function') return undefined
  return { counter: new Int32Array(new SharedArrayBuffer(4)), timeout }
}

/** After a post to the worker: wakes it if it rests. */
export function wakeUp(counter: Int32Array): void {
  Atomics.add(counter, 0, 1)
  Atomics.notify(counter, 0)
}
