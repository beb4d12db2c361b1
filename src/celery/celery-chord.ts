/**
 * Celery's chord counting on the Redis backend (research/celery-wire.md §3; Celery's
 * `RedisBackend.on_chord_part_return`), done by a celeriac worker for each chord header task it
 * runs, so a chord whose header runs on celeriac, on Python, or on both fires its body once:
 * - the header task's outcome goes into the sorted set `celery-taskset-meta-<group>.j` (score:
 *   its group index; member: `[1, id, state, result]` as Python's JSON writes it, so the same
 *   outcome counted by two workers is one member), read back with the count and the chord size
 *   (`.s`, set by the producer, plus `.t`), all in one MULTI;
 * - the worker whose member makes the count reach the size sends the body with the header's
 *   results in group order, or, when one of them failed or was revoked, stores the body's
 *   FAILURE (`ChordError: Dependency <id> raised <repr>`) and calls its errbacks; then deletes
 *   the chord's keys.
 */
import type { Redis } from 'ioredis'
import type { Encoded, Json } from '../core/model/json.js'
import type { SignatureJSON, TaskMessage } from '../core/model/message.js'
import { toEnvelope, queueKey } from './envelope.js'
import { RESULT_KEY_PREFIX } from './result-meta.js'
import { signatureFromDict } from './signature-from-dict.js'
import { fromWire, isoTime } from './wire-json.js'

type JsonObject = { [key: string]: Json }

/** A header task that ended, and the chord it belongs to. */
export interface ChordPart {
  readonly id: string
  readonly rootId: string
  readonly groupId: string
  readonly groupIndex: number | null
  /** The body, as Celery's signature dict (the message's `embed.chord`). */
  readonly body: JsonObject
}

/** What counting needs of the transport. */
export interface ChordHost {
  client(): Redis
  call<T>(call: Promise<T>): Promise<T>
  /** Celery's `origin` header of the body's message. */
  readonly origin: string
  /** Celery's `result_expires` in seconds: the TTL of the chord's keys and of a stored failure. */
  readonly ttl: number
}

/** States in which a header task fails its chord (Celery's PROPAGATE_STATES). */
const PROPAGATE = new Set(['FAILURE', 'REVOKED'])

/**
 * Counts `part` once its own result is stored; the last one in fires the body. A header task
 * with no stored result (`ignoreResult`) counts as a success with `null`, as Celery counts the
 * value it did not store.
 */
export async function countChordPart(host: ChordHost, part: ChordPart): Promise<void> {
  const client = host.client()
  const meta = parseObject(await host.call(client.get(RESULT_KEY_PREFIX + part.id)))
  const state = typeof meta?.status === 'string' ? meta.status : 'SUCCESS'
  const result = meta?.result ?? null
  const key = `celery-taskset-meta-${part.groupId}`
  const member = pythonJson([1, part.id, state, result])
  const replies = await host.call(
    client
      .multi()
      .zadd(`${key}.j`, part.groupIndex === null ? '+inf' : part.groupIndex, member)
      .zcount(`${key}.j`, '-inf', '+inf')
      .get(`${key}.t`)
      .get(`${key}.s`)
      .expire(`${key}.j`, host.ttl)
      .expire(`${key}.t`, host.ttl)
      .expire(`${key}.s`, host.ttl)
      .exec(),
  )
  const ready = Number(replies?.[1]?.[1] ?? 0)
  const extra = Number(replies?.[2]?.[1] ?? 0)
  const size = replies?.[3]?.[1]
  // No size: not a chord Celery's way (or its keys expired); nothing fires, as in Celery.
  if (typeof size !== 'string' || ready !== Number(size) + (Number.isNaN(extra) ? 0 : extra)) return
  const members = await host.call(client.zrange(`${key}.j`, '0', '-1'))
  try {
    await fire(host, part, members)
  } finally {
    await host.call(client.del(`${key}.j`, `${key}.t`, `${key}.s`))
  }
}

async function fire(host: ChordHost, part: ChordPart, members: readonly string[]): Promise<void> {
  const body = signatureFromDict(part.body)
  if (body === undefined) return
  const values: Json[] = []
  for (const text of members) {
    const entry = JSON.parse(text) as Json
    if (!Array.isArray(entry)) continue
    const [, id, state, value] = entry
    if (typeof state === 'string' && PROPAGATE.has(state)) {
      await failBody(host, part, body, `Dependency ${String(id)} raised ${pythonRepr(value ?? null)}`)
      return
    }
    values.push(value ?? null)
  }
  const first = firstTask(body)
  if (first === undefined) {
    await failBody(host, part, body, `Callback error: a chord body of kind '${body.kind}' cannot be sent by a celeriac worker yet`)
    return
  }
  const args = first.sig.immutable ? first.sig.args : [fromWire(values), ...first.sig.args]
  await send(host, messageOf(first.sig, args, part, first.rest))
}

/** The body's first task, and the chain steps after it (a chain body). */
function firstTask(body: SignatureJSON): { sig: SignatureJSON; rest: SignatureJSON[] } | undefined {
  if (body.kind === 'task') return { sig: body, rest: [] }
  if (body.kind === 'chain' && body.tasks !== undefined && body.tasks[0]?.kind === 'task') return { sig: body.tasks[0], rest: body.tasks.slice(1) }
  return undefined
}

/** The body as a message sent by the header task that completed the chord. */
function messageOf(sig: SignatureJSON, args: Encoded[], part: ChordPart, chain: SignatureJSON[]): TaskMessage {
  const o = sig.options
  const now = Date.now()
  return {
    id: o.taskId ?? globalThis.crypto.randomUUID(),
    task: sig.task,
    args,
    headers: o.headers ?? null,
    queue: o.queue ?? 'celery',
    priority: o.priority ?? 0,
    eta: o.eta ?? (o.countdown === undefined ? null : now + o.countdown),
    expires: o.expiresAt ?? (o.expires === undefined ? null : now + o.expires),
    retries: 0,
    seq: 0,
    parentId: part.id,
    rootId: part.rootId,
    groupId: null,
    groupIndex: null,
    chord: null,
    chain,
    links: o.link ?? [],
    linkErrors: o.linkError ?? [],
    timeLimit: o.timeLimit ?? null,
    softTimeLimit: o.softTimeLimit ?? null,
    ignoreResult: o.ignoreResult ?? false,
    acksLate: false,
    leased: false,
    redelivered: false,
  }
}

async function send(host: ChordHost, message: TaskMessage): Promise<void> {
  const envelope = toEnvelope(message, host.origin, Date.now())
  await host.call(host.client().lpush(queueKey(envelope.queue, envelope.priority), envelope.text))
}

/**
 * Celery's `chord_error_from_stack`: the body's errbacks get the body's id, and the body is
 * stored as FAILURE with a ChordError (never over a stored SUCCESS).
 */
async function failBody(host: ChordHost, part: ChordPart, body: SignatureJSON, reason: string): Promise<void> {
  const bodyId = body.kind === 'task' ? body.options.taskId : body.tasks?.[body.tasks.length - 1]?.options.taskId
  if (bodyId === undefined) return
  for (const errback of body.options.linkError ?? []) {
    if (errback.kind !== 'task') continue
    await send(host, messageOf(errback, errback.immutable ? errback.args : [bodyId, ...errback.args], part, []))
  }
  const meta = {
    status: 'FAILURE',
    result: { exc_type: 'ChordError', exc_message: [reason], exc_module: 'celery.exceptions' },
    traceback: null,
    children: [],
    date_done: isoTime(Date.now()),
    task_id: bodyId,
  }
  const key = RESULT_KEY_PREFIX + bodyId
  const current = parseObject(await host.call(host.client().get(key)))
  if (current?.status === 'SUCCESS') return
  const text = JSON.stringify(meta)
  await host.call(host.client().multi().setex(key, host.ttl, text).publish(key, text).exec())
}

function parseObject(text: string | null): JsonObject | undefined {
  if (text === null) return undefined
  try {
    const value = JSON.parse(text) as Json
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** JSON as Python's `json.dumps` writes it (`, ` and `: `, non-ASCII escaped), so members dedupe across languages. */
function pythonJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .map((k) => `${asciiJson(k)}: ${pythonJson(value[k]!)}`)
      .join(', ')}}`
  }
  return typeof value === 'string' ? asciiJson(value) : JSON.stringify(value)
}

function asciiJson(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Python's `repr` of a failed header task's exception dict (`CustomError('bad thing')`), for ChordError's text. */
function pythonRepr(value: Json): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return pythonLiteral(value)
  const name = typeof value.exc_type === 'string' ? value.exc_type : 'Exception'
  const args = Array.isArray(value.exc_message) ? value.exc_message : value.exc_message === undefined ? [] : [value.exc_message]
  return `${name}(${args.map(pythonLiteral).join(', ')})`
}

function pythonLiteral(value: Json): string {
  if (value === null) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`
  if (typeof value === 'object') return pythonJson(value)
  return String(value)
}
