/**
 * A task of the app, seen from a remote: by name, typed from the task's own type when given
 * (`remote.task<typeof add>('math.add')`, a type-only import, so the renderer does not load the
 * task's code), with the sending half of a task's API.
 */
import { Signature } from '../core/canvas/signature.js'
import type { ArgSuffix, MissingArgs } from '../core/canvas/arg-tuples.js'
import type { Sender } from '../core/canvas/signature.js'
import type { SendOptions } from '../core/model/options.js'
import type { AsyncResult, ResultSource } from '../core/result/result.js'
import type { Task } from '../core/task/task.js'

/**
 * The arguments of a task type.
 *
 * @example
 * type ResizeArgs = TaskArgs<typeof resize> // [path: string]
 */
export type TaskArgs<T> = T extends Task<infer A, unknown> ? A : unknown[]
/**
 * The result type of a task type.
 *
 * @example
 * type Resized = TaskResult<typeof resize> // string
 */
export type TaskResult<T> = T extends Task<unknown[], infer R> ? R : unknown

/**
 * A task sent through a remote app: `delay`, `applyAsync`, `s`, `si` and `AsyncResult`, with
 * the same types as the task's own (canvases of its signatures type-check the same way).
 *
 * @example
 * import type { add } from '../main/tasks.js'
 * const addRemote = remote.task<typeof add>('math.add')
 * const r = await addRemote.delay(2, 2)
 * await r.get() // 4
 */
export class RemoteTask<A extends unknown[] = unknown[], R = unknown> {
  /** The task's registered name. */
  readonly name: string
  readonly #sender: Sender
  readonly #results: ResultSource

  /** @internal */
  constructor(name: string, sender: Sender, results: ResultSource) {
    this.name = name
    this.#sender = sender
    this.#results = results
  }

  /** A signature with some trailing arguments; the rest (a parent's result first) come at call time. */
  s<P extends ArgSuffix<A>>(...args: P): Signature<MissingArgs<A, P>, R> {
    return new Signature({ task: this.name, args, options: {}, immutable: false, sender: this.#sender })
  }

  /** An immutable signature: a parent's result is not prepended. */
  si(...args: A): Signature<[], R> {
    return new Signature({ task: this.name, args, options: {}, immutable: true, sender: this.#sender })
  }

  /** Sends the task. Resolves once the app has stored the message. */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args)
  }

  /** Sends the task with options (countdown, eta, expires, queue, priority, headers, taskId, ...). */
  applyAsync(args?: A, options: SendOptions = {}): Promise<AsyncResult<R>> {
    let sig: Signature<unknown[], unknown, unknown>
    try {
      sig = new Signature({ task: this.name, args: args ?? [], options: {}, immutable: true, sender: this.#sender })
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#sender.sendSignature(sig, [], options) as Promise<AsyncResult<R>>
  }

  /** The handle of one of this task's ids. */
  AsyncResult(id: string): AsyncResult<R> {
    return this.#results.handle<R>(id)
  }
}
