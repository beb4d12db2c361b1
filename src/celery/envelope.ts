/**
 * A celeriac TaskMessage as a Celery protocol v2 message in kombu's Redis envelope (JSON only),
 * the form research/celery-wire.md §2 pinned down: every field a Python worker needs to survive
 * (`delivery_tag`, `delivery_info.exchange` / `routing_key`, `content-type`, a three-element body)
 * is always there, since a message without one kills the worker that takes it.
 */
import { SerializationError } from '../core/model/errors.js'
import type { Json } from '../core/model/json.js'
import type { TaskMessage } from '../core/model/message.js'
import { isoTime, toWire } from './wire-json.js'

type JsonObject = { [key: string]: Json }

/** The key `kwargs()` wraps keyword arguments in, as the last argument. */
export const KWARGS_KEY = '__celery_kwargs__'

/** Headers the envelope sets itself: a custom header of the same name does not replace them. */
const RESERVED = new Set([
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
])

/** Where the message goes: the list of its priority step, and the JSON text to push. */
export interface Envelope {
  readonly queue: string
  /** Celery's priority (0 first on Redis). */
  readonly priority: number
  readonly text: string
}

/**
 * celeriac's priority (0–9, higher first) as Celery's on Redis (0–9, 0 first): inverted, so
 * "higher runs first" holds for messages from either side.
 */
export function celeryPriority(priority: number): number {
  return 9 - Math.min(9, Math.max(0, Math.round(priority)))
}

/**
 * Builds the envelope of `message`. `origin` is Celery's `origin` header (`pid@host`), `now` the
 * time `expires` counts from for kombu's `expiration` property. A SerializationError when the
 * message holds what Celery's wire cannot carry yet (a canvas) or JSON cannot (see wire-json).
 */
export function toEnvelope(message: TaskMessage, origin: string, now: number): Envelope {
  if (message.chain.length > 0 || message.chord !== null || message.links.length > 0 || message.linkErrors.length > 0) {
    throw new SerializationError(
      `Cannot send '${message.task}' (${message.id}) to Celery: chains, chords, links and errbacks are not on celeryTransport's wire yet; send each task with sendTask`,
    )
  }
  const wireArgs = message.args.map((arg, i) => toWire(arg, `args[${String(i)}]`))
  let kwargs: JsonObject = {}
  const last = wireArgs[wireArgs.length - 1]
  if (isKwargs(last)) {
    wireArgs.pop()
    kwargs = last[KWARGS_KEY] as JsonObject
  }
  const body = [wireArgs, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]
  const custom = message.headers === null ? null : toWire(message.headers, 'headers')
  const headers: JsonObject = {}
  if (custom !== null && typeof custom === 'object' && !Array.isArray(custom)) {
    for (const key of Object.keys(custom)) if (!RESERVED.has(key)) headers[key] = custom[key]!
  }
  Object.assign(headers, {
    lang: 'js',
    task: message.task,
    id: message.id,
    shadow: null,
    eta: message.eta === null ? null : isoTime(message.eta),
    expires: message.expires === null ? null : isoTime(message.expires),
    group: message.groupId,
    group_index: message.groupIndex,
    retries: message.retries,
    // [hard, soft] in seconds, in that order (celery/app/amqp.py), whatever the protocol doc says.
    timelimit: [seconds(message.timeLimit), seconds(message.softTimeLimit)],
    root_id: message.rootId,
    parent_id: message.parentId,
    argsrepr: JSON.stringify(wireArgs),
    kwargsrepr: JSON.stringify(kwargs),
    origin,
    ignore_result: message.ignoreResult,
  })
  const priority = celeryPriority(message.priority)
  const properties: JsonObject = {
    correlation_id: message.id,
    reply_to: '',
    delivery_mode: 2,
    delivery_info: { exchange: '', routing_key: message.queue },
    priority,
    body_encoding: 'base64',
    delivery_tag: globalThis.crypto.randomUUID(),
  }
  if (message.expires !== null) properties.expiration = String(Math.max(0, message.expires - now))
  const envelope = {
    body: utf8Base64(JSON.stringify(body)),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties,
  }
  return { queue: message.queue, priority, text: JSON.stringify(envelope) }
}

function isKwargs(value: Json | undefined): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const keys = Object.keys(value)
  const inner = value[KWARGS_KEY]
  return keys.length === 1 && keys[0] === KWARGS_KEY && typeof inner === 'object' && inner !== null && !Array.isArray(inner)
}

function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000
}

/** Base64 of the UTF-8 bytes of `text` (Buffer-free, so it runs wherever ioredis does). */
function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/** Priority steps of kombu's Redis transport (its default `priority_steps`). */
const STEPS = [0, 3, 6, 9] as const

/** The Redis list of `queue` for Celery priority `priority`: the bare name for step 0, else `queue\x06\x16<step>`. */
export function queueKey(queue: string, priority: number): string {
  let step = 0
  for (const s of STEPS) if (s <= priority) step = s
  return step === 0 ? queue : `${queue}\x06\x16${String(step)}`
}

/** Every list of `queue`, in the order a kombu worker takes from them (step 0 first). */
export function queueKeys(queue: string): string[] {
  return STEPS.map((step) => queueKey(queue, step))
}

/** kombu's binding set of `queue`, and its member for the default exchange. */
export function binding(queue: string): { key: string; member: string } {
  return { key: `_kombu.binding.${queue}`, member: `${queue}\x06\x16\x06\x16${queue}` }
}
