/**
 * A kombu Redis envelope (Celery protocol v2, JSON) read back as a celeriac TaskMessage: what a
 * revoke takes out of a queue. Keyword arguments come back as the last argument, wrapped as
 * `kwargs()` wraps them, so a message read and sent again is the same message.
 */
import type { Encoded, Json } from '../core/model/json.js'
import type { TaskMessage } from '../core/model/message.js'
import { celeryPriority, ENVELOPE_HEADERS, KWARGS_KEY } from './envelope.js'
import { utcTime } from './result-meta.js'
import { signatureFromDict, signaturesFromDicts } from './signature-from-dict.js'
import { fromWire } from './wire-json.js'

type JsonObject = { [key: string]: Json }

/** Celery's own headers (not custom ones): the envelope's, and what Celery 5.x and kombu add. */
const HEADER_FIELDS: ReadonlySet<string> = new Set([
  ...ENVELOPE_HEADERS,
  'replaced_task_nesting',
  'stamped_headers',
  'stamps',
  // kombu's restore marks a message it puts back.
  'redelivered',
])

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A protocol v2 message read: celeriac's TaskMessage, and what only Celery's wire carries. */
export interface ReadEnvelope {
  readonly message: TaskMessage
  /**
   * The chord body signature of a chord header task (the embed's `chord`), kept as Celery's
   * dict: the worker that runs the last header task counts it and sends it Celery's way
   * (celery-chord.ts), so Python and celeriac workers can share one chord.
   */
  readonly chordBody: JsonObject | null
}

/** The TaskMessage in an envelope's text; undefined when it is not a protocol v2 JSON task message. */
export function fromEnvelope(text: string): TaskMessage | undefined {
  return readEnvelope(text)?.message
}

/** The message in an envelope's text, with its chord body; undefined when it is not a protocol v2 JSON task message. */
export function readEnvelope(text: string): ReadEnvelope | undefined {
  let envelope: Json
  try {
    envelope = JSON.parse(text) as Json
  } catch {
    return undefined
  }
  if (!isObject(envelope) || envelope['content-type'] !== 'application/json') return undefined
  const headers = envelope.headers
  const properties = envelope.properties
  if (!isObject(headers) || !isObject(properties) || typeof headers.id !== 'string' || typeof headers.task !== 'string') return undefined
  const body = decodeBody(envelope.body, properties.body_encoding)
  if (!Array.isArray(body) || body.length !== 3 || !Array.isArray(body[0])) return undefined
  const args: Encoded[] = body[0].map(fromWire)
  if (isObject(body[1]) && Object.keys(body[1]).length > 0) args.push({ [KWARGS_KEY]: fromWire(body[1]) })
  const custom: JsonObject = {}
  for (const key of Object.keys(headers)) if (!HEADER_FIELDS.has(key)) custom[key] = headers[key]!
  const info = isObject(properties.delivery_info) ? properties.delivery_info : {}
  const timelimit = Array.isArray(headers.timelimit) ? headers.timelimit : []
  const embed = isObject(body[2]) ? body[2] : {}
  // Celery pops the next step from the end: the rest of the chain travels reversed.
  const chain = signaturesFromDicts(embed.chain).reverse()
  const chordBody = isObject(embed.chord) && signatureFromDict(embed.chord) !== undefined ? embed.chord : null
  const message: TaskMessage = {
    id: headers.id,
    task: headers.task,
    args,
    headers: Object.keys(custom).length === 0 ? null : fromWire(custom),
    queue: typeof info.routing_key === 'string' ? info.routing_key : 'celery',
    // The inversion is its own inverse.
    priority: celeryPriority(typeof properties.priority === 'number' ? properties.priority : 0),
    eta: time(headers.eta),
    expires: time(headers.expires),
    retries: typeof headers.retries === 'number' ? headers.retries : 0,
    seq: 0,
    parentId: typeof headers.parent_id === 'string' ? headers.parent_id : null,
    rootId: typeof headers.root_id === 'string' ? headers.root_id : headers.id,
    groupId: typeof headers.group === 'string' ? headers.group : null,
    groupIndex: typeof headers.group_index === 'number' ? headers.group_index : null,
    // A chord is counted Celery's way, outside the engine (chordBody above).
    chord: null,
    chain,
    links: signaturesFromDicts(embed.callbacks),
    linkErrors: signaturesFromDicts(embed.errbacks),
    timeLimit: ms(timelimit[0]),
    softTimeLimit: ms(timelimit[1]),
    ignoreResult: headers.ignore_result === true,
    acksLate: false,
    leased: false,
    redelivered: info.redelivered === true || headers.redelivered === true,
  }
  return { message, chordBody }
}

/** A message body as JSON (base64 of UTF-8 when `encoding` says so); undefined when it does not decode. */
export function decodeBody(body: Json | undefined, encoding: Json | undefined): Json | undefined {
  if (typeof body !== 'string') return body
  try {
    if (encoding !== 'base64') return JSON.parse(body) as Json
    const binary = atob(body)
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    return JSON.parse(new TextDecoder().decode(bytes)) as Json
  } catch {
    return undefined
  }
}

function time(value: Json | undefined): number | null {
  if (typeof value !== 'string') return null
  const at = utcTime(value)
  return Number.isNaN(at) ? null : at
}

function ms(seconds: Json | undefined): number | null {
  return typeof seconds === 'number' ? seconds * 1000 : null
}
