/**
 * Celery's signature dicts (`{task, args, kwargs, options, subtask_type, immutable}`, the form a
 * protocol v2 message's embed carries its chain, callbacks, errbacks and chord body in) read back
 * as celeriac's SignatureJSON, so that a celeriac worker runs what follows a task Python sent: the
 * engine forwards the chain, calls the links and errbacks, and records them as children, as a
 * Celery worker does. A group, chain or chord inside (`subtask_type`) becomes the same kind of
 * node; its ids, frozen by Python, are kept.
 */
import type { Encoded, Json } from '../core/model/json.js'
import type { SignatureJSON, SignatureOptionsJSON } from '../core/model/message.js'
import { celeryPriority, KWARGS_KEY } from './envelope.js'
import { utcTime } from './result-meta.js'
import { fromWire } from './wire-json.js'

type JsonObject = { [key: string]: Json }

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A list of signature dicts (Celery sends `null` for none); dicts it cannot read are left out. */
export function signaturesFromDicts(value: Json | undefined): SignatureJSON[] {
  if (!Array.isArray(value)) return []
  const out: SignatureJSON[] = []
  for (const item of value) {
    const sig = signatureFromDict(item)
    if (sig !== undefined) out.push(sig)
  }
  return out
}

/** One signature dict as SignatureJSON; undefined when it is not one. */
export function signatureFromDict(value: Json | undefined): SignatureJSON | undefined {
  if (!isObject(value)) return undefined
  const options = isObject(value.options) ? value.options : {}
  const immutable = value.immutable === true
  const kwargs = isObject(value.kwargs) ? value.kwargs : {}
  switch (value.subtask_type ?? null) {
    case null: {
      if (typeof value.task !== 'string' || value.task === '') return undefined
      const args: Encoded[] = Array.isArray(value.args) ? value.args.map(fromWire) : []
      if (Object.keys(kwargs).length > 0) args.push({ [KWARGS_KEY]: fromWire(kwargs) })
      return { task: value.task, args, options: optionsFromDict(options), immutable, kind: 'task' }
    }
    case 'group':
    case 'chain': {
      const kind = value.subtask_type === 'group' ? 'group' : 'chain'
      const tasks = signaturesFromDicts(kwargs.tasks)
      if (tasks.length === 0 && kind === 'chain') return undefined
      return { task: '', args: partialArgs(value.args), options: optionsFromDict(options), immutable, kind, tasks }
    }
    case 'chord': {
      // The header travels as a list of signatures, or as a group signature holding them.
      const header = isObject(kwargs.header) ? signatureFromDict(kwargs.header) : undefined
      const tasks = header?.kind === 'group' ? (header.tasks ?? []) : signaturesFromDicts(kwargs.header)
      const body = signatureFromDict(kwargs.body)
      if (body === undefined) return undefined
      const groupId = header?.options.taskId ?? (typeof options.group_id === 'string' ? options.group_id : undefined)
      const chordOptions = optionsFromDict(options)
      // Frozen, a celeriac chord's taskId is its header's group id; the body names the result.
      delete chordOptions.taskId
      if (groupId !== undefined) chordOptions.taskId = groupId
      return { task: '', args: partialArgs(value.args), options: chordOptions, immutable, kind: 'chord', tasks, body }
    }
    default:
      return undefined
  }
}

function partialArgs(args: Json | undefined): Encoded[] {
  return Array.isArray(args) ? args.map(fromWire) : []
}

/** The options `apply_async` takes, as celeriac's (ms, epoch ms, celeriac priority). */
function optionsFromDict(o: JsonObject): SignatureOptionsJSON {
  const out: SignatureOptionsJSON = {}
  if (typeof o.task_id === 'string') out.taskId = o.task_id
  // None named: the app's routes decide, else its default queue (`celery` on this transport), as
  // a Celery worker applies its own `task_routes` to what it forwards.
  if (typeof o.queue === 'string' && o.queue !== '') out.queue = o.queue
  if (typeof o.priority === 'number') out.priority = celeryPriority(o.priority)
  if (typeof o.countdown === 'number') out.countdown = o.countdown * 1000
  else if (typeof o.eta === 'string' && !Number.isNaN(utcTime(o.eta))) out.eta = utcTime(o.eta)
  if (typeof o.expires === 'number') out.expires = o.expires * 1000
  else if (typeof o.expires === 'string' && !Number.isNaN(utcTime(o.expires))) out.expiresAt = utcTime(o.expires)
  if (typeof o.time_limit === 'number') out.timeLimit = o.time_limit * 1000
  if (typeof o.soft_time_limit === 'number') out.softTimeLimit = o.soft_time_limit * 1000
  if (typeof o.ignore_result === 'boolean') out.ignoreResult = o.ignore_result
  if (isObject(o.headers)) out.headers = fromWire(o.headers)
  const link = signaturesFromDicts(o.link)
  if (link.length > 0) out.link = link
  const linkError = signaturesFromDicts(o.link_error)
  if (linkError.length > 0) out.linkError = linkError
  return out
}
