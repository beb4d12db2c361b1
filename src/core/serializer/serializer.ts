/**
 * The serializer: arguments, results, progress meta and errors cross every boundary (storage,
 * workers, even the inline executor) as data. `encode` turns a value into a JSON tree with a few
 * tagged types; `decode` turns it back. Environment-neutral: no `node:*`, no DOM, no Buffer.
 *
 * A tagged value is `{ "$": "<Tag>", "v": <payload> }` (`v` omitted for `undefined`). Tags:
 * `undefined`, `Number` (`"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`), `Date` (epoch ms, `null`
 * when invalid), `BigInt` (decimal string), `Map` (`[[key, value], ...]`), `Set`, `Uint8Array`
 * (base64), `Error` ({@link EncodedError}) and `Object`, which escapes a plain object that has an
 * own `"$"` key of its own.
 */
import { SerializationError, TaskError, errorClassByName } from '../model/errors.js'
import type { Encoded, Json } from '../model/json.js'

type JsonObject = { [key: string]: Json }

const TAG = '$'
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
    return { [TAG]: 'Date', v: ms === ms ? ms : null }
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
    throw new Unencodable(article(constructorName(object) ?? 'binary buffer'), 'of binary types only Uint8Array is supported; copy the bytes into a new Uint8Array')
  }
  if (object instanceof Promise) throw new Unencodable('a Promise', 'await it and pass its value')
  if (object instanceof WeakMap || object instanceof WeakSet) {
    throw new Unencodable(article(constructorName(object) ?? 'weak collection'), `its contents cannot be read; ${ADVICE}`)
  }
  if (hasBehaviour(proto)) {
    throw new Unencodable(
      `an instance of ${constructorName(object) ?? 'a class'}`,
      `class instances with methods do not survive the trip; ${ADVICE}`,
    )
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
  const className = constructorName(error)
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

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

/** Whether a prototype chain (below Object.prototype) defines anything but `constructor`. */
function hasBehaviour(proto: object): boolean {
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const keys = Reflect.ownKeys(p)
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 'constructor') return true
  }
  return false
}

function constructorName(object: object): string | undefined {
  try {
    const ctor: unknown = (object as { constructor?: unknown }).constructor
    const name: unknown = typeof ctor === 'function' ? ctor.name : undefined
    return typeof name === 'string' && name !== '' ? name : undefined
  } catch {
    return undefined
  }
}

function article(noun: string): string {
  return /^[AEIOUaeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`
}

/** An error from another realm (a vm context, an iframe), where `instanceof Error` is false. */
function isForeignError(object: object): boolean {
  return Object.prototype.toString.call(object) === '[object Error]'
}

function isSharedArrayBuffer(object: object): boolean {
  return typeof SharedArrayBuffer === 'function' && object instanceof SharedArrayBuffer
}

/** Sets an own enumerable data property, even for `__proto__`, whose assignment sets the prototype. */
function setOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else (target as Record<string, unknown>)[key] = value
}

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
  if (tag !== undefined && Object.prototype.hasOwnProperty.call(tree, TAG)) return decodeTagged(tag, tree.v)
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

function isRecord(tree: Json | undefined): tree is JsonObject {
  return typeof tree === 'object' && tree !== null && !Array.isArray(tree)
}

function malformed(what: string): SerializationError {
  return new SerializationError(
    `Cannot decode ${what}: the data is damaged, or was written by a newer version of celeriac; decode only what encode made`,
  )
}

/**
 * Encodes anything thrown as an `Error` tag (`{ "$": "Error", "v": EncodedError }`), which both
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

function describe(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) {
    try {
      const json = JSON.stringify(value)
      if (typeof json === 'string') return json
    } catch {
      // A cycle or a BigInt inside: the tag below is still better than nothing.
    }
    return Object.prototype.toString.call(value)
  }
  // Not the source text of a function.
  if (typeof value === 'function') return `[function ${value.name === '' ? '(anonymous)' : value.name}]`
  return String(value)
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
  if (isRecord(record) && record[TAG] === 'Error' && Object.prototype.hasOwnProperty.call(record, TAG)) record = record.v
  if (!isRecord(record) || Object.prototype.hasOwnProperty.call(record, TAG)) {
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

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const PAD = 61 // '='
const ENCODE = new Uint8Array(64)
const DECODE = new Uint8Array(128).fill(255)
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i)
  DECODE[ALPHABET.charCodeAt(i)] = i
}
/** Characters converted per `String.fromCharCode` call, well under engines' argument limits. */
const CHUNK = 0x2000

/** Base64 through a byte buffer: no string concatenation per byte, no Buffer, no btoa quirks. */
function toBase64(bytes: Uint8Array): string {
  const n = bytes.length
  const out = new Uint8Array(Math.ceil(n / 3) * 4)
  let o = 0
  let i = 0
  for (; i + 2 < n; i += 3) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = ENCODE[(t >>> 6) & 63]!
    out[o++] = ENCODE[t & 63]!
  }
  if (n - i === 1) {
    const t = bytes[i]! << 16
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = PAD
    out[o++] = PAD
  } else if (n - i === 2) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out[o++] = ENCODE[t >>> 18]!
    out[o++] = ENCODE[(t >>> 12) & 63]!
    out[o++] = ENCODE[(t >>> 6) & 63]!
    out[o++] = PAD
  }
  let text = ''
  for (let c = 0; c < out.length; c += CHUNK) {
    text += String.fromCharCode.apply(null, out.subarray(c, c + CHUNK) as unknown as number[])
  }
  return text
}

function sextet(text: string, i: number): number {
  const value = DECODE[text.charCodeAt(i)] ?? 255
  if (value === 255) throw malformed('a Uint8Array (bad base64)')
  return value
}

function fromBase64(text: string): Uint8Array {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === PAD) end--
  if (end % 4 === 1 || text.length - end > 2) throw malformed('a Uint8Array (bad base64 length)')
  const out = new Uint8Array((end * 3) >> 2)
  let o = 0
  let i = 0
  for (; i + 3 < end; i += 4) {
    const t = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3)
    out[o++] = t >>> 16
    out[o++] = (t >>> 8) & 255
    out[o++] = t & 255
  }
  if (end - i === 2) {
    out[o] = ((sextet(text, i) << 18) | (sextet(text, i + 1) << 12)) >>> 16
  } else if (end - i === 3) {
    const t = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6)
    out[o++] = t >>> 16
    out[o] = (t >>> 8) & 255
  }
  return out
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
