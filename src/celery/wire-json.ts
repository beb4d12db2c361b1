/**
 * celeriac's encoded values (the serializer's JSON with `{ "$": tag, "v": … }` for what JSON
 * lacks) against the plain JSON Celery's `json` serializer reads and writes. Plain JSON crosses
 * unchanged; a Date goes as its ISO 8601 text (what kombu 5.2 writes for a datetime) and
 * `undefined` as null; a type Python's JSON has no form for is a SerializationError at the send.
 */
import { SerializationError } from '../core/model/errors.js'
import type { Encoded, Json } from '../core/model/json.js'

const TAG = '$'

type JsonObject = { [key: string]: Json }

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An encoded value as plain JSON for a Python worker; `path` names it in errors (`args[0]`). */
export function toWire(value: Encoded, path: string): Json {
  if (Array.isArray(value)) return value.map((item, i) => toWire(item, `${path}[${String(i)}]`))
  if (!isObject(value)) return value
  if (!Object.hasOwn(value, TAG)) return mapValues(value, path)
  const v = value.v
  switch (value[TAG]) {
    case 'Object':
      if (isObject(v)) return mapValues(v, path)
      break
    case 'undefined':
      return null
    case 'Date':
      return typeof v === 'number' ? isoTime(v) : null
    case 'BigInt':
      if (typeof v === 'string' && Number.isSafeInteger(Number(v))) return Number(v)
      break
    case 'Error':
      if (isObject(v)) return exceptionOf(v)
      break
    default:
  }
  throw new SerializationError(
    `Cannot send ${describeTag(value[TAG])} at ${path} to Celery: its JSON has no form for it; pass plain JSON data (strings, numbers, booleans, null, arrays, objects)`,
    path,
  )
}

function mapValues(object: JsonObject, path: string): JsonObject {
  const out: JsonObject = {}
  for (const key of Object.keys(object)) out[key] = toWire(object[key]!, `${path}.${key}`)
  return out
}

function describeTag(tag: Json | undefined): string {
  if (tag === 'Number') return 'NaN or an infinite number'
  if (tag === 'BigInt') return 'a BigInt beyond 2^53'
  return `a ${String(tag)}`
}

/** Python's builtin exceptions that share a name with a JS one and mean the same. */
const PYTHON_BUILTINS = new Set(['TypeError', 'ValueError', 'KeyError', 'RuntimeError', 'IndexError', 'ZeroDivisionError'])

/** celeriac's errors whose twin is in `celery.exceptions`: Python raises the real class. */
const CELERY_EXCEPTIONS = new Set([
  'TaskRevokedError',
  'TimeLimitExceeded',
  'SoftTimeLimitExceeded',
  'ChordError',
  'NotRegistered',
  'MaxRetriesExceededError',
  'WorkerLostError',
])

function moduleOf(name: string): string | null {
  if (CELERY_EXCEPTIONS.has(name)) return 'celery.exceptions'
  return PYTHON_BUILTINS.has(name) ? 'builtins' : null
}

/** An encoded error record as Celery's exception dict, which Python rebuilds into an exception. */
function exceptionOf(record: JsonObject): JsonObject {
  const name = typeof record.className === 'string' ? record.className : typeof record.name === 'string' ? record.name : 'Error'
  const data = isObject(record.data) ? record.data : undefined
  // A Python exception read earlier keeps its module and arguments (see fromWireException).
  const module = typeof data?.module === 'string' || data?.module === null ? data.module : moduleOf(name)
  const args = Array.isArray(data?.args) ? data.args : [typeof record.message === 'string' ? record.message : '']
  return { exc_type: name, exc_message: args, exc_module: module }
}

/** Plain JSON from Python as a celeriac encoded value: only an object with a `$` key needs escaping. */
export function fromWire(value: Json): Encoded {
  if (Array.isArray(value)) return value.map(fromWire)
  if (!isObject(value)) return value
  const out: JsonObject = {}
  for (const key of Object.keys(value)) out[key] = fromWire(value[key]!)
  return Object.hasOwn(value, TAG) ? { [TAG]: 'Object', v: out } : out
}

/**
 * Celery's exception dict (`exc_type`, `exc_message`, `exc_module`) as an encoded error: the
 * Python class name is the error's name (a celeriac `TaskError` with that `originalName`, unless
 * a class of that name is registered), its arguments stay in `args` and its module in `module`.
 */
export function fromWireException(exc: Json, traceback: string | null): Encoded {
  const dict = isObject(exc) ? exc : {}
  const name = typeof dict.exc_type === 'string' && dict.exc_type !== '' ? dict.exc_type : 'Exception'
  const raw = dict.exc_message
  const args: Json[] = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]
  // str(exc) in Python: the one argument's text, or the tuple of them.
  const message = args.length === 1 ? (typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0])) : args.length === 0 ? '' : JSON.stringify(args)
  const record: JsonObject = {
    name,
    message,
    data: { args: fromWire(args), module: typeof dict.exc_module === 'string' ? dict.exc_module : null },
  }
  if (traceback !== null) record.stack = traceback
  return { [TAG]: 'Error', v: record }
}

/** Epoch ms as Celery writes times: ISO 8601 in UTC with an explicit `+00:00`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00')
}
