/**
 * `remoteApp(port)`: a producer for an app that runs elsewhere (`serveApp(app, port)` there).
 * Sends, canvases and result handles are the core's own: signatures made here carry this remote
 * as their sender, `chain()` / `group()` / `chord()` of them send through it, and the handles
 * are `AsyncResult` / `GroupResult` whose reads and waits cross the port.
 */
import type { EventEmitter } from 'eventemitter3'
import { AppEvents } from '../core/app/app-events.js'
import type { Control, Inspect } from '../core/app/control.js'
import { Signature, checkSend } from '../core/canvas/signature.js'
import type { AnySignature, Sender } from '../core/canvas/signature.js'
import type { HandleJSON } from '../core/model/context.js'
import type { CeleriacEvents } from '../core/model/events.js'
import type { Encoded } from '../core/model/json.js'
import type { SendOptions } from '../core/model/options.js'
import { handleFromJSON } from '../core/result/result.js'
import type { AsyncResult } from '../core/result/result.js'
import { decode } from '../core/serializer/decode.js'
import { encode } from '../core/serializer/encode.js'
import type { Task } from '../core/task/task.js'
import { Channel } from './channel.js'
import type { MessagePortLike } from './port.js'
import { RemoteResults } from './remote-results.js'
import { RemoteTask } from './remote-task.js'
import type { TaskArgs, TaskResult } from './remote-task.js'
import { CONTROL_METHODS, EVENT_NAMES, INSPECT_METHODS } from './wire.js'
import type { ControlMethod, InspectMethod } from './wire.js'

/** Each method of `T` named in `K`, async: it runs in the app, across the port. */
type Remoted<T, K extends keyof T> = {
  [P in K]: T[P] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never
}

/**
 * `app.inspect` across the port: the same methods, each async.
 *
 * @example
 * const active = await remote.inspect.active()
 */
export type RemoteInspect = Remoted<Inspect, InspectMethod>
/**
 * `app.control` across the port: the same methods, each async.
 *
 * @example
 * await remote.control.pause('emails')
 */
export type RemoteControl = Remoted<Control, ControlMethod>

/**
 * An app's producer on the other end of a port. See {@link remoteApp}.
 *
 * @example
 * const remote = remoteApp(port)
 * const r = await remote.task<typeof resize>('images.resize').delay('photo.jpg')
 * remote.events.on('task-failed', (e) => console.warn(e.name, e.error))
 */
export class RemoteApp implements Sender {
  /** The app's task events, forwarded from the first listener of each on (until closed). */
  readonly events: EventEmitter<CeleriacEvents>
  /** `app.inspect`, async: `await remote.inspect.active()`. */
  readonly inspect: RemoteInspect
  /** `app.control`, async: `await remote.control.revoke(id)`. */
  readonly control: RemoteControl
  readonly #channel: Channel
  readonly #results: RemoteResults

  /** @internal */
  constructor(port: MessagePortLike) {
    const events = new AppEvents()
    this.events = events
    const channel = new Channel(port, (event, payload) => (events.emit as (e: string, p: unknown) => boolean)(event, decode(payload)))
    this.#channel = channel
    const subscribed = new Set<string>()
    events.onListener((event) => {
      if (subscribed.has(event) || !(EVENT_NAMES as readonly string[]).includes(event)) return
      subscribed.add(event)
      channel.subscribe(event)
    })
    this.#results = new RemoteResults(channel)
    this.inspect = methods(INSPECT_METHODS, (method, args) => channel.call({ type: 'inspect', method, args })) as RemoteInspect
    this.control = methods(CONTROL_METHODS, (method, args) => channel.call({ type: 'control', method, args })) as RemoteControl
  }

  /** Resolves once the app answered on the port; rejects with ChannelClosedError if it closed first. */
  get ready(): Promise<void> {
    return this.#channel.ready
  }

  /** The app's name, once {@link ready} ('' before). */
  get name(): string {
    return this.#channel.appName
  }

  /** Whether the channel closed (every call rejects with ChannelClosedError). */
  get closed(): boolean {
    return this.#channel.closed
  }

  /**
   * A task of the app by name, typed from its type (`remote.task<typeof add>('math.add')`, a
   * type-only import) or from the task itself where its module can be loaded here.
   *
   * @example
   * import type { add as addTask } from '../main/tasks.js'
   * const add = remote.task<typeof addTask>('math.add')
   * await chain(add.s(2, 2), add.s(4)).delay()
   */
  task<T extends Task<never, unknown> = Task<unknown[], unknown>>(task: string | T): RemoteTask<TaskArgs<T>, TaskResult<T>> {
    const name = typeof task === 'string' ? task : task.name
    return new RemoteTask<TaskArgs<T>, TaskResult<T>>(name, this, this.#results)
  }

  /**
   * A signature by task name, sent through this remote (and so are the canvases made of it).
   *
   * @example
   * await remote.signature('math.add', { args: [2, 2] }).delay()
   */
  signature<R = unknown>(name: string, init: { args?: readonly unknown[]; options?: SendOptions; immutable?: boolean } = {}): Signature<unknown[], R> {
    return new Signature<unknown[], R>({ task: name, args: init.args ?? [], options: init.options ?? {}, immutable: init.immutable ?? false, sender: this })
  }

  /**
   * Sends a task by name (Celery's `send_task`).
   *
   * @example
   * const r = await remote.sendTask<number>('math.add', [2, 2], { countdown: 1_000 })
   */
  sendTask<R = unknown>(name: string, args: readonly unknown[] = [], options: SendOptions = {}): Promise<AsyncResult<R>> {
    return this.task<Task<unknown[], R>>(name).applyAsync([...args], options)
  }

  /** Sends a signature (any canvas) through this remote. */
  send<H>(sig: Signature<unknown[], unknown, H>, options: SendOptions = {}): Promise<H> {
    return this.sendSignature(sig as AnySignature, [], options) as Promise<H>
  }

  /** A handle for any task id of the app. */
  AsyncResult<T = unknown>(id: string): AsyncResult<T> {
    return this.#results.handle<T>(id)
  }

  /**
   * Stops using the port: the app is told, and calls waiting for an answer (and every later one)
   * reject with ChannelClosedError. The port itself stays open: it is yours to close.
   */
  close(): void {
    this.#channel.close('remote.close() was called')
  }

  /** @internal Every send ends here: the signature as data (arguments encoded here: bad ones fail at the call). */
  async sendSignature(sig: AnySignature, args: readonly unknown[], options: SendOptions): Promise<unknown> {
    checkSend(sig, options)
    const full = args.length === 0 && Object.keys(options).length === 0 ? sig : sig.clone({ args: [...args, ...sig.args] }).set(options)
    const json = full.toJSON()
    const handle = (await this.#channel.call({ type: 'send', signature: json })) as HandleJSON
    return handleFromJSON(handle, this.#results)
  }
}

/** An object with one async method per name, each a call across the port with its arguments encoded. */
function methods<K extends string>(
  names: readonly K[],
  call: (method: K, args: Encoded) => Promise<unknown>,
): Record<K, (...args: unknown[]) => Promise<unknown>> {
  const out = {} as Record<K, (...args: unknown[]) => Promise<unknown>>
  for (const name of names) {
    out[name] = async (...args: unknown[]) => decode((await call(name, encode(args, `${name}(args)`))) as Encoded)
  }
  return Object.freeze(out)
}

/**
 * A producer for the app served on the other end of `port` (`serveApp(app, port)` there):
 * sends, canvases, result handles (`get`, `state`, `progress`, ...), events, `inspect` and
 * `control`, with the app's own checks and errors. Environment-neutral: a renderer, a page, a
 * worker, another Node thread.
 *
 * @example
 * // Electron renderer (the port from the preload script)
 * import { chain } from 'celeriac'
 * import { remoteApp } from 'celeriac/remote'
 * import type { resize } from '../main/tasks.js'
 * const remote = remoteApp(port)
 * const bar = document.querySelector('progress')!
 * const r = await remote.task<typeof resize>('images.resize').delay('photo.jpg', 640)
 * for await (const update of r.progress()) bar.value = (update.info as { percent?: number })?.percent ?? 0
 */
export function remoteApp(port: MessagePortLike): RemoteApp {
  return new RemoteApp(port)
}
