/**
 * The serializer, encoding side (`decode.ts` is the other): arguments, results, progress meta and
 * errors cross every boundary (storage, workers, even the inline executor) as data. `encode`
 * turns a value into a JSON tree with a few tagged types; `decode` turns it back.
 * Environment-neutral: no `node:*`, no DOM, no Buffer.
 *
 * A tagged value is `{ "$": "<Tag>", "v": <payload> }` (`v` omitted for `undefined`). Tags:
 * `undefined`, `Number` (`"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`), `Date` (epoch ms, `null`
 * when invalid), `BigInt` (decimal string), `Map` (`[[key, value], ...]`), `Set`, `Uint8Array`
 * (base64), `Error` (below) and `Object`, which escapes a plain object that has an own `"$"` key of
 * its own.
 *
 * The payload of an `Error` tag is what survives of an error: `{ name, message, className?, stack?,
 * code?, cause?, data? }`. `className` is there only when the constructor's name differs from
 * `name`; `code` is a string or a number; `cause` is encoded; `data` holds the error's other own
 * enumerable properties (and an `AggregateError`'s `errors`), encoded.
 */
import { prototypeName } from '../model/error-registry.js'
import { SerializationError } from '../model/errors.js'
import type { Encoded, Json } from '../model/json.js'
import { toBase64 } from './base64.js'
import { article, constructorName, describe, hasBehaviour, isForeignError, isSharedArrayBuffer, propertySegment } from './inspect.js'
import { TAG, setOwn } from './shared.js'
import type { JsonObject } from './shared.js'

const ADVICE = 'pass plain data (IDs, not objects)'

/**
 * Thrown inside the encoder instead of a SerializationError, so that the path is built only when
 * encoding fails: each container on the way out adds its segment (no path string per value on the
 * hot path). Not an Error, so no stack is captured; {@link encode} turns it into the real error.
 */
class Unencodable {
  /** Path segments, innermost first. */
  readonly segments: string[] = []
  constructor(
    readonly what: string,
    readonly advice: string,
  ) {}
}

/**
 * Encodes `value` as a JSON tree that shares no mutable object with it, for `decode` to rebuild.
 *
 * Besides JSON it keeps `undefined` (as a value, an array element or an object property; array
 * holes become `undefined`), NaN, ±Infinity, -0, Date, BigInt, Map, Set, Uint8Array and errors.
 * Plain objects keep their own enumerable string keys; symbol keys are ignored, as JSON does.
 * An instance of a class whose prototypes define nothing but `constructor` (a data-only class) is
 * encoded as a plain object, and arrives as one. `toJSON` is not called.
 *
 * Errors (anywhere in the value) are encoded leniently: an error's own property that cannot be
 * encoded is dropped rather than failing the whole value (see {@link encodeError}).
 *
 * @param root Name of the value in error paths, e.g. `'args'` gives `args[0].user`.
 * @throws SerializationError naming the path, for a function, a symbol, an instance of a class
 * with methods or accessors (Buffer, RegExp and Promise included), a WeakMap or WeakSet, a binary
 * type other than Uint8Array, or a cycle (the same object appearing twice without containing
 * itself is fine, and is encoded twice).
 *
 * @example
 * encode([{ user: new User() }], 'args') // throws: Cannot serialize an instance of User at args[0].user: ...
 */
export function encode(value: unknown, root = 'value'): Encoded {
  try {
    if (typeof value !== 'object' || value === null) return encodePrimitive(value)
    // Task arguments are mostly a short array of primitives: copy it without a cycle stack.
    if (Array.isArray(value)) {
      const copy = copyPrimitives(value)
      if (copy !== undefined) return copy
    }
    return encodeObject(value, [])
  } catch (error) {
    throw located(error, root)
  }
}

/**
 * {@link encode} for an array the caller made and no one else holds (a `delay(...args)` rest
 * array): kept as it is when it holds JSON primitives only, since nothing can change it later.
 */
export function encodeFresh(array: unknown[], root: string): Encoded[] {
  return allJsonPrimitives(array) ? (array as Encoded[]) : (encode(array, root) as Encoded[])
}

/** Whether JSON holds `n` as is (not NaN, ±Infinity or -0). */
function isJsonNumber(n: number): boolean {
  // `n - n` is NaN for NaN and ±Infinity; `1 / -0` is -Infinity.
  return n - n === 0 && (n !== 0 || 1 / n > 0)
}

/** A copy of `array` when every element is a JSON primitive, else undefined (holes included). */
function copyPrimitives(array: readonly unknown[]): Json[] | undefined {
  // Checked first, copied in one go: growing an empty array by push reserves 17 slots, which a
  // stored message would keep for as long as it waits.
  return allJsonPrimitives(array) ? (array.slice() as Json[]) : undefined
}

/** Whether every element is a JSON primitive (a hole is not: it reads as undefined). */
function allJsonPrimitives(array: readonly unknown[]): boolean {
  for (let i = 0; i < array.length; i++) {
    const v = array[i]
    if (!(typeof v === 'string' || typeof v === 'boolean' || v === null || (typeof v === 'number' && isJsonNumber(v)))) return false
  }
  return true
}

function encodeValue(value: unknown, stack: object[]): Json {
  return typeof value === 'object' && value !== null ? encodeObject(value, stack) : encodePrimitive(value)
}

function encodePrimitive(value: unknown): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (isJsonNumber(value)) return value
      return { [TAG]: 'Number', v: value === 0 ? '-0' : String(value) }
    case 'undefined':
      return { [TAG]: 'undefined' }
    case 'bigint':
      return { [TAG]: 'BigInt', v: value.toString() }
    case 'function':
      throw new Unencodable('a function', ADVICE)
    case 'symbol':
      throw new Unencodable('a symbol', ADVICE)
    default:
      return null
  }
}

/** Marks `object` as being encoded; a second visit while it is still open is a cycle. */
function enter(object: object, stack: object[]): void {
  // A linear scan: trees are shallow, and an array beats a Set at small sizes.
  if (stack.includes(object)) throw new Unencodable('a circular reference', `the value contains itself; ${ADVICE}`)
  stack.push(object)
}

function encodeObject(object: object, stack: object[]): Json {
  if (Array.isArray(object)) return encodeArray(object, stack)
  const proto = Object.getPrototypeOf(object) as object | null
  if (proto === Object.prototype || proto === null) return encodeRecord(object, stack)
  if (object instanceof Date) {
    const ms = object.getTime()
    return { [TAG]: 'Date', v: Number.isNaN(ms) ? null : ms }
  }
  if (object instanceof Map) return encodeMap(object, stack)
  if (object instanceof Set) return encodeSet(object, stack)
  if (proto === Uint8Array.prototype) return { [TAG]: 'Uint8Array', v: toBase64(object as Uint8Array) }
  if (object instanceof Error || isForeignError(object)) {
    enter(object, stack)
    const record = errorRecord(object as Error, stack)
    stack.pop()
    return { [TAG]: 'Error', v: record }
  }
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer || isSharedArrayBuffer(object)) {
    throw new Unencodable(
      article(constructorName(object) ?? 'binary buffer'),
      'of binary types only Uint8Array is supported; copy the bytes into a new Uint8Array',
    )
  }
  if (object instanceof Promise) throw new Unencodable('a Promise', 'await it and pass its value')
  if (object instanceof WeakMap || object instanceof WeakSet) {
    throw new Unencodable(article(constructorName(object) ?? 'weak collection'), `its contents cannot be read; ${ADVICE}`)
  }
  if (hasBehaviour(proto)) {
    throw new Unencodable(`an instance of ${constructorName(object) ?? 'a class'}`, `class instances with methods do not survive the trip; ${ADVICE}`)
  }
  return encodeRecord(object, stack)
}

function encodeArray(array: readonly unknown[], stack: object[]): Json[] {
  enter(array, stack)
  const out = new Array<Json>(array.length)
  let i = 0
  try {
    for (; i < array.length; i++) out[i] = encodeValue(array[i], stack)
  } catch (error) {
    throw within(error, `[${String(i)}]`)
  }
  stack.pop()
  return out
}

function encodeRecord(object: object, stack: object[]): Json {
  enter(object, stack)
  const keys = Object.keys(object)
  const out: JsonObject = {}
  let escaped = false
  let key = ''
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i]!
      setOwn(out, key, encodeValue((object as Record<string, unknown>)[key], stack))
      if (key === TAG) escaped = true
    }
  } catch (error) {
    throw within(error, propertySegment(key))
  }
  stack.pop()
  return escaped ? { [TAG]: 'Object', v: out } : out
}

function encodeMap(map: ReadonlyMap<unknown, unknown>, stack: object[]): Json {
  enter(map, stack)
  const entries: Json[] = []
  let i = 0
  let inKey = true
  try {
    for (const [k, v] of map) {
      inKey = true
      const key = encodeValue(k, stack)
      inKey = false
      entries.push([key, encodeValue(v, stack)])
      i++
    }
  } catch (error) {
    throw within(error, `<Map ${inKey ? 'key' : 'value'} ${String(i)}>`)
  }
  stack.pop()
  return { [TAG]: 'Map', v: entries }
}

function encodeSet(set: ReadonlySet<unknown>, stack: object[]): Json {
  enter(set, stack)
  const items: Json[] = []
  let i = 0
  try {
    for (const item of set) {
      items.push(encodeValue(item, stack))
      i++
    }
  } catch (error) {
    throw within(error, `<Set item ${String(i)}>`)
  }
  stack.pop()
  return { [TAG]: 'Set', v: items }
}

/**
 * The record of an error already entered on `stack`. Lenient by design: an error must always
 * arrive, so a cause or own property that cannot be encoded is described or dropped, not fatal.
 */
function errorRecord(error: Error, stack: object[]): JsonObject {
  const record: JsonObject = { name: String(error.name), message: String(error.message) }
  // The name its class is registered under (registerErrorClass), when the error's name is not it.
  const proto = Object.getPrototypeOf(error) as object | null
  const className = (proto === null ? undefined : prototypeName(proto)) ?? constructorName(error)
  if (className !== undefined && className !== record.name) record.className = className
  const stackText: unknown = error.stack
  if (typeof stackText === 'string') record.stack = stackText
  const code = (error as { code?: unknown }).code
  const hasCode = typeof code === 'string' || (typeof code === 'number' && isJsonNumber(code))
  if (hasCode) record.code = code
  const depth = stack.length
  const cause: unknown = error.cause
  if (cause !== undefined) {
    try {
      record.cause = encodeValue(cause, stack)
    } catch {
      // Also the way out of a cause chain that loops back to an error being encoded.
      stack.length = depth
      record.cause = { [TAG]: 'Error', v: describeThrown(cause) }
    }
  }
  let data: JsonObject | undefined
  const keys = Object.keys(error)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause' || (hasCode && key === 'code')) continue
    try {
      const encoded = encodeValue((error as unknown as Record<string, unknown>)[key], stack)
      setOwn((data ??= {}), key, encoded)
    } catch {
      stack.length = depth
    }
  }
  // AggregateError's `errors` is an own property, but not enumerable.
  if (error instanceof AggregateError && !Object.prototype.propertyIsEnumerable.call(error, 'errors')) {
    try {
      const encoded = encodeValue(error.errors, stack)
      setOwn((data ??= {}), 'errors', encoded)
    } catch {
      stack.length = depth
    }
  }
  if (data !== undefined) record.data = data
  return record
}

/** Adds the segment of the container being left to an {@link Unencodable} on its way out. */
function within(error: unknown, segment: string): unknown {
  if (error instanceof Unencodable) error.segments.push(segment)
  return error
}

/** Turns an {@link Unencodable} into the SerializationError users see; anything else passes. */
function located(error: unknown, root: string): unknown {
  if (!(error instanceof Unencodable)) return error
  let path = root
  for (let i = error.segments.length - 1; i >= 0; i--) path += error.segments[i]!
  return new SerializationError(`Cannot serialize ${error.what} at ${path}: ${error.advice}`, path)
}

/**
 * Encodes anything thrown as an `Error` tag (`{ "$": "Error", "v": { name, message, ... } }`), which both
 * {@link decodeError} and {@link decode} turn back into an error. Never throws: an error's cause or
 * own property that cannot be encoded is described or dropped, and a thrown non-error becomes a
 * record named `'Error'` whose message describes it (`String(x)`, or JSON for objects).
 */
export function encodeError(error: unknown): Encoded {
  if (typeof error === 'object' && error !== null && (error instanceof Error || isForeignError(error))) {
    try {
      return { [TAG]: 'Error', v: errorRecord(error as Error, [error]) }
    } catch {
      // A getter on `name` or `message` threw: fall back to a description.
    }
  }
  return { [TAG]: 'Error', v: describeThrown(error) }
}

/** A minimal error record for anything; never throws and never recurses. */
function describeThrown(thrown: unknown): JsonObject {
  try {
    if (typeof thrown === 'object' && thrown !== null && (thrown instanceof Error || isForeignError(thrown))) {
      const error = thrown as Error
      const record: JsonObject = { name: String(error.name), message: String(error.message) }
      if (typeof error.stack === 'string') record.stack = error.stack
      return record
    }
    return { name: 'Error', message: describe(thrown) }
  } catch {
    return { name: 'Error', message: 'A value that cannot be described was thrown' }
  }
}
