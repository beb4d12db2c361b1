/**
 * `serveApp(app, port)`: the side that owns the engine. Each call a remote makes becomes the
 * app's own public call (`app.send`, its result handles' reads and waits, `app.inspect`,
 * `app.control`), so a remote gets the same checks, errors and results as code in this process.
 */
import type { Celeriac } from '../core/app/app.js'
import { Signature } from '../core/canvas/signature.js'
import type { Encoded } from '../core/model/json.js'
import { ConfigError } from '../core/model/errors.js'
import { decode } from '../core/serializer/decode.js'
import { encode, encodeError } from '../core/serializer/encode.js'
import { handleToJSON, isHandle } from './handle-json.js'
import { attach } from './port.js'
import type { MessagePortLike } from './port.js'
import { CONTROL_METHODS, EVENT_NAMES, INSPECT_METHODS, WIRE, isWire } from './wire.js'
import type { Call, ReplyValue, ToApp, ToRemote } from './wire.js'

/**
 * A port being served; see {@link serveApp}.
 *
 * @example
 * const { port1, port2 } = new MessageChannel() // port2 goes to the window, the worker, ...
 * const served = serveApp(app, port1)
 * // later, when the window closes:
 * served.close()
 */
export interface ServedApp {
  /**
   * Stops serving the port: the remote is told, and its calls still waiting reject with
   * `ChannelClosedError`. The port itself stays open (it is yours: close it, or hand it on).
   */
  close(): void
}

type Message = ToRemote extends infer M ? (M extends { type: infer _ } ? Omit<M, 'celeriac'> : never) : never

/**
 * Serves `app` to a remote on the other end of `port` (`remoteApp(port)` there): its sends,
 * canvases, result reads, waits and progress, events, `inspect` and `control`. Call it once per
 * port, in the process (or thread, or page) that owns the engine; several ports may serve one app.
 * The app may start before or after; a remote's calls made before it has started reject with
 * the app's own ConfigError.
 *
 * @example
 * ```ts fragment: Electron's main process (MessageChannelMain, a window): Electron is not installed here
 * // Electron main
 * const app = new Celeriac({ storage: fileStorage({ dir }), executor: threads({ module: tasksUrl }) })
 * await app.start()
 * const { port1, port2 } = new MessageChannelMain()
 * serveApp(app, port1)
 * win.webContents.postMessage('celeriac', null, [port2])
 * ```
 */
export function serveApp(app: Celeriac, port: MessagePortLike): ServedApp {
  const watches = new Map<number, () => void>()
  const subscriptions = new Map<string, (payload: unknown) => void>()
  let closed = false
  const send = (message: Message): void => {
    if (!closed) channel.post({ ...message, celeriac: WIRE })
  }
  const forget = (): void => {
    for (const stop of watches.values()) stop()
    watches.clear()
    for (const [event, listener] of subscriptions) app.events.off(event as (typeof EVENT_NAMES)[number], listener)
    subscriptions.clear()
  }
  const receive = (data: unknown): void => {
    const message = data as ToApp
    switch (message.type) {
      case 'hello':
        forget()
        send({ type: 'ready', app: app.name })
        return
      case 'call':
        answer(app, message.call).then(
          (value) => send({ type: 'reply', id: message.id, ok: true, value }),
          (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: encodeError(error) }),
        )
        return
      case 'watch':
        try {
          const stop = app.results().watch(message.id, (record) => send({ type: 'record', watch: message.watch, record }))
          watches.set(message.watch, stop)
        } catch {
          // The app has not started: nothing to watch; the remote's read says so.
        }
        return
      case 'unwatch':
        watches.get(message.watch)?.()
        watches.delete(message.watch)
        return
      case 'subscribe': {
        const event = message.event
        if (subscriptions.has(event) || !(EVENT_NAMES as readonly string[]).includes(event)) return
        const listener = (payload: unknown): void => send({ type: 'event', event, payload: encodeLenient(payload) })
        subscriptions.set(event, listener)
        app.events.on(event, listener)
        return
      }
      case 'bye':
        forget()
        return
    }
  }
  const channel = attach(port, isWire, receive, forget)
  send({ type: 'ready', app: app.name })
  return {
    close() {
      if (closed) return
      send({ type: 'bye' })
      closed = true
      forget()
      channel.detach()
    },
  }
}

/** One call, made through the app's public API. */
async function answer(app: Celeriac, call: Call): Promise<ReplyValue> {
  switch (call.type) {
    case 'send': {
      const handle = await app.send(Signature.fromJSON(call.signature))
      if (!isHandle(handle)) throw new ConfigError('the send gave no result handle')
      return handleToJSON(handle)
    }
    case 'result.read':
      return (await app.results().read(call.id)) ?? null
    case 'result.wait':
      return app.results().wait(call.id, call.timeout ?? undefined)
    case 'result.forget':
      await app.results().forget(call.ids)
      return null
    case 'result.revoke':
      await app.results().revoke(call.ids, { terminate: call.terminate })
      return null
    case 'inspect':
      if (!(INSPECT_METHODS as readonly string[]).includes(call.method))
        throw new ConfigError(`inspect.${String(call.method)} is not something a remote can call`)
      return encode(await (app.inspect[call.method] as (...args: unknown[]) => unknown).apply(app.inspect, argsOf(call.args)), 'inspect')
    case 'control':
      if (!(CONTROL_METHODS as readonly string[]).includes(call.method))
        throw new ConfigError(`control.${String(call.method)} is not something a remote can call`)
      return encode((await (app.control[call.method] as (...args: unknown[]) => unknown).apply(app.control, argsOf(call.args))) ?? null, 'control')
  }
}

function argsOf(encoded: Encoded): unknown[] {
  const args = decode<unknown>(encoded)
  return Array.isArray(args) ? args : []
}

/** An event's payload: plain data, and an error in it encoded as every error crosses. */
function encodeLenient(payload: unknown): Encoded {
  try {
    return encode(payload, 'event')
  } catch (error) {
    return encode({ unencodable: String(error) })
  }
}
