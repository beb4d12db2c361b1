/**
 * A celeriac TaskMessage as a Celery protocol v2 message in kombu's Redis envelope (JSON only),
 * the form research/celery-wire.md §2 pinned down: every field a Python worker needs to survive
 * (`delivery_tag`, `delivery_info.exchange` / `routing_key`, `content-type`, a three-element body)
 * is always there, since a message without one kills the worker that takes it.
 */
import { SerializationError } from '../core/model/errors.js'
import type { ChordRecord } from '../core/model/context.js'
import type { Encoded, Json } from '../core/model/json.js'
import type { SignatureJSON, TaskMessage } from '../core/model/message.js'
import { isoTime, toWire } from './wire-json.js'

type JsonObject = { [key: string]: Json }

/** The key `kwargs()` wraps keyword arguments in, as the last argument. */
export const KWARGS_KEY = '__celery_kwargs__'

/** Headers the envelope sets itself (protocol v2): a custom header of the same name does not replace them. */
export const ENVELOPE_HEADERS: ReadonlySet<string> = new Set([
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
 * `celeryChord` is the chord body a message read from Celery's wire came with (it goes back
 * as it came, when the message is sent again: a retry).
 */
export function toEnvelope(message: TaskMessage, origin: string, now: number, chordBody?: SignatureJSON, celeryChord?: JsonObject | null): Envelope {
  if (message.chord !== null && chordBody === undefined) throw notYet(message.task, message.id)
  const [wireArgs, kwargs] = argsAndKwargs(message.args, 'args')
  // Celery pops the next step from the end: the rest of the chain travels reversed.
  const chain = message.chain.length === 0 ? null : message.chain.map((step, i) => signatureDict(step, message.queue, `chain[${String(i)}]`)).reverse()
  // A chord header task carries the body; the worker that counts the last member sends it.
  const chord = message.chord === null || chordBody === undefined ? (celeryChord ?? null) : signatureDict(chordBody, message.queue, 'chord')
  // link: the result prepended; linkError: the failed task's id prepended (Celery's old-style errback).
  const callbacks = message.links.length === 0 ? null : message.links.map((sig, i) => signatureDict(sig, message.queue, `link[${String(i)}]`))
  const errbacks = message.linkErrors.length === 0 ? null : message.linkErrors.map((sig, i) => signatureDict(sig, message.queue, `linkError[${String(i)}]`))
  const body = [wireArgs, kwargs, { callbacks, errbacks, chain, chord }]
  const custom = message.headers === null ? null : toWire(message.headers, 'headers')
  const headers: JsonObject = {}
  if (custom !== null && typeof custom === 'object' && !Array.isArray(custom)) {
    for (const key of Object.keys(custom)) if (!ENVELOPE_HEADERS.has(key)) headers[key] = custom[key]!
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

function notYet(task: string, id: string): SerializationError {
  return new SerializationError(
    `Cannot send '${task}' (${id}) to Celery: a chain inside a chord header (or a join: a chain ending in a group there) is not on celeryTransport's wire yet; make the header member one task, or run that chord on celeriac's own transport`,
  )
}

/** Encoded arguments as Celery's args and kwargs: a trailing `kwargs()` wrapper is the kwargs. */
function argsAndKwargs(args: readonly Encoded[], path: string): [Json[], JsonObject] {
  const wireArgs = args.map((arg, i) => toWire(arg, `${path}[${String(i)}]`))
  const last = wireArgs[wireArgs.length - 1]
  if (!isKwargs(last)) return [wireArgs, {}]
  wireArgs.pop()
  return [wireArgs, last[KWARGS_KEY] as JsonObject]
}

/**
 * A chain step (or link, or chord body) as Celery's signature dict (`task`, `args`, `kwargs`,
 * `options`, `subtask_type`, `immutable`), its options those `apply_async` takes. Its queue is
 * its own, else the queue of the message it rides on: a Python worker would otherwise route it
 * by its own `task_routes`, which default to `celery`. A group, chain or chord node is Celery's
 * `celery.group` / `celery.chain` / `celery.chord` dict with its ids as celeriac froze them (a
 * group's `task_id` is its group id; a chord's header group carries the chord's group id and
 * its body its own id), so the Python worker that forwards it sends what celeriac's handle
 * waits for.
 */
function signatureDict(step: SignatureJSON, queue: string, path: string): JsonObject {
  const o = step.options
  // A step counted for a chord or group of celeriac's own (a chain inside a chord header):
  // Celery would need that chord's keys in the step's options.
  if ((o.chordRef ?? null) !== null || (o.groupRef ?? null) !== null) throw notYet(step.task === '' ? step.kind : step.task, String(o.taskId))
  const options = optionsDict(o, queue, path)
  // A canvas node's options reach each of its tasks' apply_async in Celery, over their own: a
  // queue there would send every member to it.
  if (step.kind !== 'task' && o.queue === undefined) delete options.queue
  const partial = step.args.map((arg, i) => toWire(arg, `${path}.args[${String(i)}]`))
  const inner = (sigs: readonly SignatureJSON[] | undefined, at: string): Json[] =>
    (sigs ?? []).map((sig, i) => signatureDict(sig, o.queue ?? queue, `${path}.${at}[${String(i)}]`))
  switch (step.kind) {
    case 'group':
      return { task: 'celery.group', args: partial, kwargs: { tasks: inner(step.tasks, 'tasks') }, options, subtask_type: 'group', immutable: step.immutable }
    case 'chain':
      return { task: 'celery.chain', args: partial, kwargs: { tasks: inner(step.tasks, 'tasks') }, options, subtask_type: 'chain', immutable: step.immutable }
    case 'chord': {
      if (step.body === undefined) throw notYet('chord', String(o.taskId))
      // Frozen, a chord's taskId is its header's group id; the body names the chord's result.
      const { task_id: groupId, ...chordOptions } = options
      const header = {
        task: 'celery.group',
        args: [],
        kwargs: { tasks: inner(step.tasks, 'tasks') },
        options: { task_id: groupId ?? null },
        subtask_type: 'group',
        immutable: false,
      }
      const body = signatureDict(step.body, o.queue ?? queue, `${path}.body`)
      return {
        task: 'celery.chord',
        args: partial,
        kwargs: { header, body, kwargs: {} },
        options: chordOptions,
        subtask_type: 'chord',
        immutable: step.immutable,
      }
    }
    default: {
      const [args, kwargs] = argsAndKwargs(step.args, `${path}.args`)
      return { task: step.task, args, kwargs, options, subtask_type: null, immutable: step.immutable }
    }
  }
}

/** A signature's options as `apply_async` takes them. */
function optionsDict(o: SignatureJSON['options'], queue: string, path: string): JsonObject {
  const options: JsonObject = { task_id: o.taskId ?? null, queue: o.queue ?? queue }
  if (o.priority !== undefined) options.priority = celeryPriority(o.priority)
  if (o.countdown !== undefined) options.countdown = o.countdown / 1000
  if (o.eta !== undefined) options.eta = isoTime(o.eta)
  // Celery's `expires` in seconds counts from the step's own send, as celeriac's does.
  if (o.expiresAt !== undefined) options.expires = isoTime(o.expiresAt)
  else if (o.expires !== undefined) options.expires = o.expires / 1000
  if (o.timeLimit !== undefined) options.time_limit = o.timeLimit / 1000
  if (o.softTimeLimit !== undefined) options.soft_time_limit = o.softTimeLimit / 1000
  if (o.ignoreResult !== undefined) options.ignore_result = o.ignoreResult
  if (o.headers !== undefined) options.headers = toWire(o.headers, `${path}.headers`)
  if (o.link !== undefined && o.link.length > 0) options.link = o.link.map((sig, i) => signatureDict(sig, queue, `${path}.link[${String(i)}]`))
  if (o.linkError !== undefined && o.linkError.length > 0) {
    options.link_error = o.linkError.map((sig, i) => signatureDict(sig, queue, `${path}.linkError[${String(i)}]`))
  }
  return options
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

/**
 * The body of the chord that a header message belongs to, from its chord record (the engine's
 * `chords` record, keyed by the body's id): the body, or when the chord is followed by more
 * steps (`chain(chord(h, b), c)`), the chain of the body and those steps, which a Python worker
 * sends with the header's results given to its first task. A header task that is itself the
 * start of a chain (a chain inside a chord header) is not on the wire yet.
 */
export function chordBodyOf(message: TaskMessage, record: ChordRecord | undefined): SignatureJSON | undefined {
  if (message.chord === null) return undefined
  if (record === undefined || record.body === null || message.chain.length > 0) throw notYet(message.task, message.id)
  if (record.chain.length === 0) return record.body
  return { task: '', args: [], options: {}, immutable: false, kind: 'chain', tasks: [record.body, ...record.chain] }
}

/** Celery's chord size key (`celery-taskset-meta-<group id>.s`), which the producer sets before the header is sent. */
export function chordSizeKey(groupId: string): string {
  return `celery-taskset-meta-${groupId}.s`
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
