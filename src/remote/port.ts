/**
 * What `celeriac/remote` talks over: anything shaped like a MessagePort. Electron's
 * `MessagePortMain` and Node's `worker_threads` ports and workers are event emitters (`on`);
 * a browser `MessagePort`, `Worker`, a worker's `self`, and Node's `MessagePort` are event
 * targets (`addEventListener`). Both are read here, and nothing else of the port is used.
 */
import { ConfigError } from '../core/model/errors.js'

/**
 * A port the remote channel can use: `postMessage` and either `addEventListener` (a browser
 * `MessagePort`, `Worker` or worker `self`; Node's `MessagePort`) or `on` (Electron's
 * `MessagePortMain`, Node's `Worker` or `parentPort`). A `start()` is called when the port has one.
 *
 * @example
 * const { port1, port2 } = new MessageChannel()
 * serveApp(app, port1)
 * const remote = remoteApp(port2)
 */
export interface MessagePortLike {
  /** Sends one message (structured clone). */
  postMessage(message: unknown): void
  /** An event target's listener (a browser `MessagePort`, `Worker`, worker `self`; Node's `MessagePort`). */
  addEventListener?(type: 'message' | 'close', listener: (event: unknown) => void): void
  /** An event emitter's message listener (Electron's `MessagePortMain`, Node's `Worker`). */
  on?(type: 'message', listener: (event: unknown) => void): unknown
  /** An event emitter's close listener. */
  on?(type: 'close', listener: () => void): unknown
  /** Starts delivery on a port that queues messages until started. */
  start?(): void
}

/** The loose view of a port this file reads (removal methods are not part of the public type). */
interface AnyPort {
  postMessage(message: unknown): void
  addEventListener?(type: string, listener: (event: unknown) => void): void
  removeEventListener?(type: string, listener: (event: unknown) => void): void
  on?(type: string, listener: (event: unknown) => void): unknown
  off?(type: string, listener: (event: unknown) => void): unknown
  removeListener?(type: string, listener: (event: unknown) => void): unknown
  start?(): void
}

/** A port being listened to: `post` (false once the port refused), `detach` stops listening. */
export interface Attached {
  post(message: unknown): boolean
  detach(): void
}

/**
 * Listens to `port`: `onData` gets each message's data (an `on('message')` listener gets the
 * value itself from Node and an event with `data` from Electron: `isOurs` tells them apart),
 * `onClose` the port's `close` event where it has one (Node, Electron, recent Chromium).
 */
export function attach(port: MessagePortLike, isOurs: (value: unknown) => boolean, onData: (data: unknown) => void, onClose: () => void): Attached {
  const p = port as AnyPort
  if (p === null || typeof p !== 'object' || typeof p.postMessage !== 'function') {
    throw new ConfigError(`celeriac/remote needs a MessagePort-like object (postMessage and addEventListener or on), got ${p === null ? 'null' : typeof p}`)
  }
  const unwrap = (value: unknown): void => {
    if (isOurs(value)) onData(value)
    else if (value !== null && typeof value === 'object' && isOurs((value as { data?: unknown }).data)) onData((value as { data: unknown }).data)
  }
  const closed = (): void => onClose()
  let detach: () => void
  if (typeof p.addEventListener === 'function') {
    p.addEventListener('message', unwrap)
    p.addEventListener('close', closed)
    detach = () => {
      p.removeEventListener?.('message', unwrap)
      p.removeEventListener?.('close', closed)
    }
  } else if (typeof p.on === 'function') {
    p.on('message', unwrap)
    p.on('close', closed)
    const off = (p.off ?? p.removeListener)?.bind(p)
    detach = () => {
      off?.('message', unwrap)
      off?.('close', closed)
    }
  } else {
    throw new ConfigError('celeriac/remote needs a port with addEventListener (MessagePort, Worker) or on (Electron MessagePortMain, Node worker_threads)')
  }
  // A MessagePort listened to with addEventListener, and Electron's MessagePortMain, deliver only once started.
  if (typeof p.start === 'function') p.start()
  return {
    post(message) {
      try {
        p.postMessage(message)
        return true
      } catch {
        return false
      }
    },
    detach,
  }
}
