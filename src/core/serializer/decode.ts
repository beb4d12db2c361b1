/**
 * The serializer, decoding side: `decode` rebuilds a value from the tree `encode` made, and
 * `decodeError` an error (an instance of its registered class when there is one).
 */
import { errorClassByName } from '../model/error-registry.js'
import { TaskError } from '../model/errors.js'
import type { Encoded, Json } from '../model/json.js'
import { fromBase64 } from './base64.js'
import { describe } from './inspect.js'
import { TAG, isRecord, malformed, setOwn } from './shared.js'
import type { JsonObject } from './shared.js'

/**
 * Decodes a tree made by {@link encode} (or read back with `JSON.parse`) into a new value.
 * Keys such as `__proto__` and `constructor` come back as own data properties; no prototype is
 * ever touched.
 *
 * @throws SerializationError when the tree is malformed, e.g. an unknown tag.
 */
export function decode<T = unknown>(tree: Encoded): T {
  return decodeValue(tree) as T
}

function decodeValue(tree: Json): unknown {
  if (typeof tree !== 'object' || tree === null) return tree
  if (Array.isArray(tree)) {
    const out = new Array<unknown>(tree.length)
    for (let i = 0; i < tree.length; i++) out[i] = decodeValue(tree[i]!)
    return out
  }
  const tag = tree[TAG]
  if (tag !== undefined && Object.hasOwn(tree, TAG)) return decodeTagged(tag, tree.v)
  return decodeRecord(tree)
}

function decodeRecord(tree: JsonObject): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const keys = Object.keys(tree)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    setOwn(out, key, decodeValue(tree[key]!))
  }
  return out
}

function decodeTagged(tag: Json, v: Json | undefined): unknown {
  switch (tag) {
    case 'undefined':
      return undefined
    case 'Number':
      if (v === 'NaN') return Number.NaN
      if (v === 'Infinity') return Number.POSITIVE_INFINITY
      if (v === '-Infinity') return Number.NEGATIVE_INFINITY
      if (v === '-0') return -0
      break
    case 'Date':
      if (v === null) return new Date(Number.NaN)
      if (typeof v === 'number') return new Date(v)
      break
    case 'BigInt':
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v)
      break
    case 'Map':
      if (Array.isArray(v)) {
        const map = new Map<unknown, unknown>()
        for (let i = 0; i < v.length; i++) {
          const entry = v[i]
          if (!Array.isArray(entry) || entry.length !== 2) throw malformed('a Map entry')
          map.set(decodeValue(entry[0]!), decodeValue(entry[1]!))
        }
        return map
      }
      break
    case 'Set':
      if (Array.isArray(v)) {
        const set = new Set<unknown>()
        for (let i = 0; i < v.length; i++) set.add(decodeValue(v[i]!))
        return set
      }
      break
    case 'Uint8Array':
      if (typeof v === 'string') return fromBase64(v)
      break
    case 'Object':
      if (isRecord(v)) return decodeRecord(v)
      break
    case 'Error':
      if (isRecord(v)) return decodeErrorRecord(v)
      break
    default:
      throw malformed(`a value tagged ${JSON.stringify(tag)}`)
  }
  throw malformed(`a ${String(tag)} value`)
}

/**
 * Rebuilds an error from the output of {@link encodeError} (or the payload of an `Error` tag).
 *
 * When a class is registered (see `registerErrorClass`) under the recorded class name, the error
 * is an instance of it, made with `Object.create` (the constructor is not called), with its
 * message, stack, name, code, cause and own data, so `instanceof`, `err.code` and properties like
 * `err.taskId` survive. Otherwise it is a {@link TaskError} whose `originalName` is the original
 * class name, carrying the original message, stack, code, cause and own data.
 *
 * Never throws: a part of the record that cannot be decoded is dropped, and a tree that is not an
 * error record at all becomes a TaskError describing it.
 */
export function decodeError(tree: Encoded): Error {
  let record: Json | undefined = tree
  if (isRecord(record) && record[TAG] === 'Error' && Object.hasOwn(record, TAG)) record = record.v
  if (!isRecord(record) || Object.hasOwn(record, TAG)) {
    return new TaskError(typeof tree === 'string' ? tree : `A value that is not an error was raised: ${describe(tree)}`)
  }
  return decodeErrorRecord(record)
}

function decodeErrorRecord(record: JsonObject): Error {
  const name = typeof record.name === 'string' ? record.name : 'Error'
  const className = typeof record.className === 'string' ? record.className : name
  const message = typeof record.message === 'string' ? record.message : ''
  const cls = errorClassByName(className)
  let error: Error
  if (cls !== undefined) {
    error = Object.create(cls.prototype as object) as Error
    hidden(error, 'message', message)
    if ((cls.prototype as Error).name !== name) hidden(error, 'name', name)
  } else {
    error = new TaskError(message, className)
  }
  if (typeof record.stack === 'string') hidden(error, 'stack', record.stack)
  if (typeof record.code === 'string' || typeof record.code === 'number') visible(error, 'code', record.code)
  if (record.cause !== undefined) {
    try {
      hidden(error, 'cause', decodeValue(record.cause))
    } catch {
      // A damaged cause must not cost the error itself.
    }
  }
  const data = record.data
  if (isRecord(data)) {
    const keys = Object.keys(data)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      try {
        const value = decodeValue(data[key]!)
        if (key === 'errors' && error instanceof AggregateError) hidden(error, key, value)
        else visible(error, key, value)
      } catch {
        // As above: drop the damaged property, keep the error.
      }
    }
  }
  return error
}

/** Like the `message`, `stack` and `cause` of a thrown error: own, writable, not enumerable. */
function hidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true })
}

/** defineProperty, not assignment: a registered class may have an accessor or setter by that name. */
function visible(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * The traceback text of an encoded error, as Celery stores it next to a failure: `Name: message`
 * then the stack frames. The stack's own first line is dropped because it names the class as it
 * was when the stack was captured (a subclass's `name` field is set after that).
 */
export function tracebackOf(encoded: Encoded | null): string | null {
  if (encoded === null || typeof encoded !== 'object' || Array.isArray(encoded)) return null
  const tagged = encoded as { [TAG]?: unknown; v?: unknown }
  if (tagged[TAG] !== 'Error' || typeof tagged.v !== 'object' || tagged.v === null) return null
  const record = tagged.v as { name?: unknown; message?: unknown; stack?: unknown }
  const head = `${String(record.name)}: ${String(record.message)}`
  if (typeof record.stack !== 'string') return head
  const frames = record.stack.split('\n').filter((line) => /^\s+at /.test(line))
  return [head, ...frames].join('\n')
}
