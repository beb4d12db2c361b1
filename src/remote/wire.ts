/**
 * The remote channel's protocol: one union of messages each way, tagged by `type`, plain data
 * (values inside are the serializer's encoded form, so both sides agree on what crosses: the
 * same rules as storage and workers). Every message carries `celeriac: WIRE`, so a port shared
 * with other traffic (a worker's `self`) is not confused.
 */
import type { HandleJSON } from '../core/model/context.js'
import { EVENT_NAMES } from '../core/model/events.js'
import type { CeleriacEventName } from '../core/model/events.js'
import type { Encoded } from '../core/model/json.js'
import type { ResultRecord, SignatureJSON } from '../core/model/message.js'

/** The protocol's mark and version. */
export const WIRE = 'celeriac-remote/1'

/** `app.inspect`'s methods a remote may call. */
export const INSPECT_METHODS = ['active', 'scheduled', 'reserved', 'revoked', 'queues', 'registered', 'stats', 'cluster'] as const
/** `app.control`'s methods a remote may call. */
export const CONTROL_METHODS = ['revoke', 'rateLimit', 'timeLimit', 'pause', 'resume', 'purge'] as const
export type InspectMethod = (typeof INSPECT_METHODS)[number]
export type ControlMethod = (typeof CONTROL_METHODS)[number]

/** The events a remote may listen to: every app event. */
export { EVENT_NAMES }

/** What a remote asks of the app; each gets one reply. */
export type Call =
  /** Sends a signature (any canvas); replies with its handle as data. */
  | { readonly type: 'send'; readonly signature: SignatureJSON }
  /** Replies with the stored record, or null. */
  | { readonly type: 'result.read'; readonly id: string }
  /** Replies with the record once ready (TimeoutError after `timeout` ms of the app's clock). */
  | { readonly type: 'result.wait'; readonly id: string; readonly timeout: number | null }
  | { readonly type: 'result.forget'; readonly ids: readonly string[] }
  | { readonly type: 'result.revoke'; readonly ids: readonly string[]; readonly terminate: boolean }
  /** `app.inspect[method](...args)` / `app.control[method](...args)`; args and reply encoded. */
  | { readonly type: 'inspect'; readonly method: InspectMethod; readonly args: Encoded }
  | { readonly type: 'control'; readonly method: ControlMethod; readonly args: Encoded }

type Marked<T> = T & { readonly celeriac: typeof WIRE }

/** Remote -> app. */
export type ToApp = Marked<
  /** A new remote on this port: the app forgets what an earlier one asked for, and says ready. */
  | { readonly type: 'hello' }
  | { readonly type: 'call'; readonly id: number; readonly call: Call }
  /** Every record written for `id` from now on, tagged `watch`, until `unwatch`. */
  | { readonly type: 'watch'; readonly watch: number; readonly id: string }
  | { readonly type: 'unwatch'; readonly watch: number }
  /** Forward this app event from now on. */
  | { readonly type: 'subscribe'; readonly event: CeleriacEventName }
  /** The remote closed. */
  | { readonly type: 'bye' }
>

/** App -> remote. */
export type ToRemote = Marked<
  /** The app listens on this port (sent when served, and in answer to each hello). */
  | { readonly type: 'ready'; readonly app: string }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: ReplyValue }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: Encoded }
  | { readonly type: 'record'; readonly watch: number; readonly record: ResultRecord }
  | { readonly type: 'event'; readonly event: CeleriacEventName; readonly payload: Encoded }
  /** The app stopped serving this port. */
  | { readonly type: 'bye' }
>

/** A reply's value: a handle, a record (or none), or an encoded value (inspect, control). */
export type ReplyValue = HandleJSON | ResultRecord | Encoded | null

/** Whether `value` is a message of this protocol. */
export function isWire(value: unknown): boolean {
  return value !== null && typeof value === 'object' && (value as { celeriac?: unknown }).celeriac === WIRE
}
