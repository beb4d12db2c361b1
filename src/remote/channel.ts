/**
 * The remote's end of the port: calls with ids and their replies, watches of result records,
 * event subscriptions. Nothing but `hello` is posted before the app says `ready` (a worker's
 * `self` drops what arrives before it listens; the hello / ready exchange works whichever side
 * starts first). Once closed, every call waiting and every later one rejects with
 * `ChannelClosedError`.
 */
import { ChannelClosedError } from '../core/model/errors.js'
import type { ResultRecord } from '../core/model/message.js'
import type { Encoded } from '../core/model/json.js'
import { decodeError } from '../core/serializer/decode.js'
import { attach } from './port.js'
import type { Attached, MessagePortLike } from './port.js'
import { WIRE, isWire } from './wire.js'
import type { Call, ReplyValue, ToApp, ToRemote } from './wire.js'
import type { CeleriacEventName } from '../core/model/events.js'

type EventName = CeleriacEventName
type Outgoing = ToApp extends infer M ? (M extends { type: infer _ } ? Omit<M, 'celeriac'> : never) : never

interface Pending {
  resolve(value: ReplyValue): void
  reject(error: Error): void
}

export class Channel {
  readonly #port: Attached
  readonly #onEvent: (event: EventName, payload: Encoded) => void
  readonly #pending = new Map<number, Pending>()
  readonly #watches = new Map<number, { listener: (record: ResultRecord) => void; failed: ((error: Error) => void) | undefined }>()
  #held: Outgoing[] | undefined = []
  #nextId = 1
  #closed: ChannelClosedError | undefined
  #appName = ''
  readonly #ready: Promise<void>
  #opened!: () => void
  #failed!: (error: Error) => void

  constructor(port: MessagePortLike, onEvent: (event: EventName, payload: Encoded) => void) {
    this.#onEvent = onEvent
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#opened = resolve
      this.#failed = reject
    })
    // Nobody may be waiting for it: a close before ready must not be an unhandled rejection.
    this.#ready.catch(() => undefined)
    this.#port = attach(
      port,
      isWire,
      (data) => this.#receive(data as ToRemote),
      () => this.close('the port closed'),
    )
    this.#post({ type: 'hello' })
  }

  /** Resolves once the app answered; rejects with ChannelClosedError if the channel closed first. */
  get ready(): Promise<void> {
    return this.#ready
  }

  /** The app's name, once ready ('' before). */
  get appName(): string {
    return this.#appName
  }

  get closed(): boolean {
    return this.#closed !== undefined
  }

  call(call: Call): Promise<ReplyValue> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed)
    const id = this.#nextId++
    return new Promise<ReplyValue>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#send({ type: 'call', id, call })
    })
  }

  /**
   * Calls `listener` with every record written for `id` from now on, `failed` when the channel
   * closes; returns how to stop.
   */
  watch(id: string, listener: (record: ResultRecord) => void, failed?: (error: Error) => void): () => void {
    if (this.#closed !== undefined) {
      const error = this.#closed
      queueMicrotask(() => failed?.(error))
      return () => undefined
    }
    const watch = this.#nextId++
    this.#watches.set(watch, { listener, failed })
    this.#send({ type: 'watch', watch, id })
    return () => {
      if (this.#watches.delete(watch)) this.#send({ type: 'unwatch', watch })
    }
  }

  subscribe(event: EventName): void {
    this.#send({ type: 'subscribe', event })
  }

  /** Closes the channel (tells the app, unless it was the one that went): pending calls reject. */
  close(why: string, tell = true): void {
    if (this.#closed !== undefined) return
    if (tell && this.#held === undefined) this.#post({ type: 'bye' })
    const error = new ChannelClosedError(
      `The remote channel to app '${this.#appName || '?'}' closed (${why}); calls made through it cannot be answered. Make a new remoteApp(port) on an open port to go on`,
    )
    this.#closed = error
    this.#held = undefined
    this.#port.detach()
    this.#failed(error)
    const pending = [...this.#pending.values()]
    const watches = [...this.#watches.values()]
    this.#pending.clear()
    this.#watches.clear()
    for (const p of pending) p.reject(error)
    for (const w of watches) w.failed?.(error)
  }

  #send(message: Outgoing): void {
    if (this.#closed !== undefined) return
    if (this.#held !== undefined) this.#held.push(message)
    else if (!this.#post(message)) this.close('the port refused a message')
  }

  #post(message: Outgoing): boolean {
    return this.#port.post({ ...message, celeriac: WIRE })
  }

  #receive(message: ToRemote): void {
    if (this.#closed !== undefined) return
    switch (message.type) {
      case 'ready': {
        this.#appName = message.app
        const held = this.#held
        if (held === undefined) return
        this.#held = undefined
        for (const m of held) if (!this.#post(m)) return this.close('the port refused a message')
        this.#opened()
        return
      }
      case 'reply': {
        const pending = this.#pending.get(message.id)
        if (pending === undefined) return
        this.#pending.delete(message.id)
        if (message.ok) pending.resolve(message.value)
        else pending.reject(decodeError(message.error))
        return
      }
      case 'record':
        this.#watches.get(message.watch)?.listener(message.record)
        return
      case 'event':
        this.#onEvent(message.event, message.payload)
        return
      case 'bye':
        this.close('the app stopped serving this port', false)
        return
    }
  }
}
