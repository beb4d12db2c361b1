/**
 * What the consumer makes of a text taken from a queue: a task message to hand over, or a bad
 * one to drop, with the FAILURE Celery 5.2's worker would store for it, if any. Celery's checks,
 * in its order (celery/worker/consumer/consumer.py `on_task_received`, strategy.py, request.py,
 * app/trace.py, and kombu's decoding):
 * - not kombu's JSON envelope, no task name (protocol 1 included), no id: nothing stored (Celery
 *   loses it, rejects it as an unknown message, or crashes on it);
 * - a name this app does not run: NotRegistered stored under the id, whatever the rest holds
 *   (`on_unknown_task` reads only the headers); a well-formed one goes on to the engine, which
 *   stores the same;
 * - a content type other than JSON (pickle, yaml, none), a body that does not decode or is not
 *   `[args, kwargs, embed]`, an eta or expires that is not a time, kwargs that are not an
 *   object: nothing stored (Celery rejects it, acks it, or crashes on it);
 * - args that are not a list: TypeError stored (Celery's call `fun(*args)` raises it).
 */
import { MessageError, type MessageErrorReason } from '../core/model/errors.js'
import type { Encoded, Json } from '../core/model/json.js'
import type { ResultRecord, TaskMessage } from '../core/model/message.js'
import { FAILURE } from '../core/model/states.js'
import { decodeBody, readEnvelope } from './from-envelope.js'
import { utcTime } from './result-meta.js'

type JsonObject = { [key: string]: Json }

/** A message to hand over: the TaskMessage, its envelope, and the envelope's properties (delivery tag, info). */
interface Good {
  readonly ok: true
  readonly message: TaskMessage
  /** A chord header task's body, as Celery's signature dict (from-envelope.ts). */
  readonly chordBody: JsonObject | null
  readonly envelope: JsonObject
  readonly properties: JsonObject
}

/** A message to drop: why, and the FAILURE to store under its id, where Celery stores one. */
export interface BadMessage {
  readonly ok: false
  readonly error: MessageError
  readonly failure: ResultRecord | undefined
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads `text`, taken from `queue`. `defines` says whether this app runs a task name (a bad
 * message for a name it does not run gets Celery's NotRegistered).
 */
export function readTaken(text: string, queue: string, defines: (name: string) => boolean): Good | BadMessage {
  let envelope: Json
  try {
    envelope = JSON.parse(text) as Json
  } catch {
    return bad('envelope', 'it is not JSON', queue)
  }
  if (!isObject(envelope) || !isObject(envelope.headers) || !isObject(envelope.properties)) {
    return bad('envelope', 'it is not a kombu envelope (a JSON object with headers and properties)', queue)
  }
  const { headers, properties } = envelope
  const name = typeof headers.task === 'string' && headers.task !== '' ? headers.task : null
  if (name === null) return bad('task-name', 'it has no task name (headers.task): not a Celery protocol 2 task message', queue)
  const id = typeof headers.id === 'string' && headers.id !== '' ? headers.id : null
  if (id === null) return bad('task-id', `it has no task id (headers.id) for '${name}'`, queue, { name })
  const retries = typeof headers.retries === 'number' ? headers.retries : 0
  const task = { id, name, retries }
  const problem = problemOf(envelope, name)
  if (problem !== undefined && !defines(name)) {
    // Celery's `on_unknown_task`: the name decides before the rest is read.
    const text = `${problem.text}; no task '${name}' runs here: NotRegistered is stored under its id`
    return bad(problem.reason, text, queue, task, failure(task, 'NotRegistered', name, { args: [name], module: 'celery.exceptions' }))
  }
  if (problem !== undefined) {
    const stored = problem.typeError === undefined ? undefined : failure(task, 'TypeError', problem.typeError)
    return bad(problem.reason, problem.text, queue, task, stored)
  }
  const read = readEnvelope(text)
  if (read === undefined) return bad('envelope', 'it is not a Celery protocol 2 task message', queue, task)
  return { ok: true, message: read.message, chordBody: read.chordBody, envelope, properties }
}

interface Problem {
  readonly reason: MessageErrorReason
  readonly text: string
  /** Celery's call of the task raises a TypeError with this message: it stores that FAILURE. */
  readonly typeError?: string
}

/** What is wrong with a message that has a task name and id, past its headers; undefined when nothing is. */
function problemOf(envelope: JsonObject, name: string): Problem | undefined {
  const contentType = envelope['content-type']
  if (contentType !== 'application/json') {
    const what = typeof contentType === 'string' ? `'${contentType}'` : 'missing'
    return { reason: 'content-type', text: `its content type is ${what}, not application/json: only JSON is read (never pickle or yaml)` }
  }
  const properties = envelope.properties as JsonObject
  const body = decodeBody(envelope.body, properties.body_encoding)
  if (body === undefined) return { reason: 'body', text: 'its body does not decode as JSON' }
  if (!Array.isArray(body) || body.length !== 3) return { reason: 'body', text: 'its body is not [args, kwargs, embed]' }
  const [args, kwargs, embed] = body as [Json, Json, Json]
  if (embed !== null && !isObject(embed)) return { reason: 'body', text: 'its body’s embed (callbacks, errbacks, chain, chord) is not an object' }
  const headers = envelope.headers as JsonObject
  for (const field of ['eta', 'expires'] as const) {
    const value = headers[field]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string' || Number.isNaN(utcTime(value)))
      return { reason: 'time', text: `its ${field} (${JSON.stringify(value)}) is not an ISO 8601 time` }
  }
  if (!isObject(kwargs)) return { reason: 'arguments', text: 'its keyword arguments are not an object' }
  if (!Array.isArray(args)) {
    const typeError = `${name}() argument after * must be a list, not ${pythonType(args)}`
    return { reason: 'arguments', text: 'its positional arguments are not a list', typeError }
  }
  return undefined
}

/** The name of a JSON value's type in Python, for a message Python users recognise. */
function pythonType(value: Json): string {
  if (value === null) return 'NoneType'
  if (typeof value === 'string') return 'str'
  if (typeof value === 'boolean') return 'bool'
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float'
  return Array.isArray(value) ? 'list' : 'dict'
}

interface TaskRead {
  readonly id: string
  readonly name: string
  readonly retries: number
}

function bad(reason: MessageErrorReason, why: string, queue: string, task?: Partial<TaskRead>, stored?: ResultRecord): BadMessage {
  const about = task?.id === undefined ? '' : ` (task ${task.id})`
  const error = new MessageError(`A message taken from queue '${queue}'${about} was dropped: ${why}`, reason, {
    queue,
    taskId: task?.id ?? null,
    taskName: task?.name ?? null,
  })
  return { ok: false, error, failure: stored }
}

/** The FAILURE record Celery's `mark_as_failure` stores: the exception only (no traceback, parent or group). */
function failure(task: TaskRead, type: string, message: string, data?: JsonObject): ResultRecord {
  const v: JsonObject = { name: type, message }
  if (data !== undefined) v.data = data
  const error: Encoded = { $: 'Error', v }
  return {
    id: task.id,
    task: task.name,
    state: FAILURE,
    result: error,
    traceback: null,
    dateDone: Date.now(),
    retries: task.retries,
    parentId: null,
    rootId: null,
    groupId: null,
    children: [],
    expiresAt: null,
    acksLate: false,
  }
}
