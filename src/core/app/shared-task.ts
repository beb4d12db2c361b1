/**
 * Shared tasks (Celery's `shared_task`): registered once for every app, sent through the app
 * that started last, or from inside a task through the run that sends them.
 */
import { setCurrentSender } from '../canvas/signature.js'
import { ConfigError } from '../model/errors.js'
import { sharedRegistry } from '../task/registry.js'
import type { Task, TaskOwner } from '../task/task.js'
import { createTask } from './define-task.js'
import type { TaskOptionsWithBase } from './define-task.js'
import { sendCallFrom, sendingRun } from './run-sends.js'

type AnyTask = Task<never, unknown>

/**
 * Registers a task in a registry every app uses (Celery's `shared_task`); it is sent through the
 * app that started last.
 *
 * @example
 * export const add = sharedTask('math.add', (a: number, b: number) => a + b)
 * // any app that starts can send it
 * const app = new Celeriac()
 * await app.start()
 * await (await add.delay(2, 2)).get() // 4
 */
export function sharedTask<A extends unknown[], R>(name: string, fn: (...args: A) => R): Task<A, Awaited<R>>
export function sharedTask<A extends unknown[], R, B extends object = Task<A, Awaited<R>>>(
  name: string,
  options: TaskOptionsWithBase<B> & { bind: true },
  fn: (self: B, ...args: A) => R,
): Task<A, Awaited<R>>
export function sharedTask<A extends unknown[], R>(
  name: string,
  options: TaskOptionsWithBase<object> & { bind?: false },
  fn: (...args: A) => R,
): Task<A, Awaited<R>>
export function sharedTask(name: string, optionsOrFn: unknown, maybeFn?: unknown): unknown {
  const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, maybeFn]
  if (sharedRegistry.has(name)) throw new ConfigError(`A shared task named '${name}' is already registered; task names must be unique`)
  const task = createTask(name, options as TaskOptionsWithBase<AnyTask>, fn, sharedOwner, {})
  sharedRegistry.set(name, task)
  return task
}

/**
 * Shared tasks, and signatures made by name, send through the app that started last; from
 * inside a task, through the run, even where no app has started (a worker).
 */
export const sharedOwner: TaskOwner = {
  get name() {
    return current().name
  },
  sendSignature: (sig, args, options) => {
    const run = sendingRun(sharedOwner, sharedOwner)
    if (run !== undefined) return run.context().send(sig, args, options)
    if (lastStarted === undefined) {
      return Promise.reject(new ConfigError(`Cannot send '${sig.describe()}': no app has started; await app.start() or use app.send(signature)`))
    }
    return lastStarted.sendSignature(sig, args, options)
  },
  sendCall: (name, args, options, fresh) => {
    const run = sendingRun(sharedOwner, sharedOwner)
    if (run !== undefined) return sendCallFrom(run, name, args, options)
    if (lastStarted === undefined) return Promise.reject(noApp())
    return lastStarted.sendCall(name, args, options, fresh)
  },
  applyEager: (task, args, options) => current().applyEager(task, args, options),
  AsyncResult: (id) => sharedOwner.results().handle(id),
  // Read and waited on through the run, so a wait parks it and virtual time moves.
  results: () => {
    const run = sendingRun(sharedOwner, sharedOwner)
    return run !== undefined ? run.context().results() : current().results()
  },
}

setCurrentSender(sharedOwner)

function current(): TaskOwner {
  if (lastStarted === undefined) throw noApp()
  return lastStarted
}

function noApp(): ConfigError {
  return new ConfigError('No app has started; await app.start() before using a shared task')
}

let lastStarted: TaskOwner | undefined

/** `app.start()` made `app` the one shared tasks send through. */
export function startedLast(app: TaskOwner): void {
  lastStarted = app
}
