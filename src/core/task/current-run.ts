/**
 * The running task, known to code that runs inside it (Celery's `current_worker_task`): a plain
 * `other.delay()` or a signature's `.delay()` made anywhere in a task body, after any `await`,
 * is sent as that task's child. It needs an async context, which the core cannot make: the Node
 * entries inject `AsyncLocalStorage` ({@link useAsyncContext}). Where none is injected (a
 * browser), only the bound `self` carries the context, and plain sends are new roots.
 */
import type { TaskMessage } from '../model/message.js'
import type { RunContext, Task } from './task.js'

/** A running task, as code inside it finds it (the tracer's input is one). */
export interface CurrentRun {
  readonly task: Task<never, unknown>
  readonly message: TaskMessage
  /** What `self` asks of the engine: sends through it are the run's children. */
  context(): RunContext
}

/** What the core needs of an async context; Node's `AsyncLocalStorage` is one. */
export interface AsyncContext<T> {
  /** Calls `fn(...args)` with `store` current for it and for everything it starts. */
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R
  /** The store of the run this code descends from, if any. */
  getStore(): T | undefined
}

let context: AsyncContext<CurrentRun> | undefined

/**
 * Gives the core an async context to track the running task with. The first one given stays:
 * the entries of one process all give the same kind, and a run must read the context it was
 * started in.
 */
export function useAsyncContext(make: () => AsyncContext<CurrentRun>): void {
  context ??= make()
}

/**
 * The context of a realm with no async context that runs its tasks one at a time (a browser
 * worker with `tasksPerWorker: 1`): the code running is that of the run being started, else of
 * the only run in progress (`only()`). While two are in progress (one waits for a result, which
 * lets a held run start), no run is known: a plain send is then refused, never given to the
 * wrong task.
 */
export function soleRunContext(only: () => CurrentRun | undefined): AsyncContext<CurrentRun> {
  let starting: CurrentRun | undefined
  return {
    run(store, fn, ...args) {
      const before = starting
      starting = store
      try {
        return fn(...args)
      } finally {
        starting = before
      }
    },
    getStore: () => starting ?? only(),
  }
}

/** The run whose code is calling, if it is known. */
export function currentRun(): CurrentRun | undefined {
  return context?.getStore()
}

/** Calls `fn(...args)` as code of no run (the engine's, called from a task's). */
export function outsideRuns<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
  return context === undefined ? fn(...args) : context.run(undefined as unknown as CurrentRun, fn, ...args)
}

/** Calls `fn(...args)` as the code of `run`. */
export function inRun<R, A extends unknown[]>(run: CurrentRun, fn: (...args: A) => R, ...args: A): R {
  return context === undefined ? fn(...args) : context.run(run, fn, ...args)
}
