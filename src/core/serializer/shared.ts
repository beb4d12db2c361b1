/** What the encoder and the decoder share: the tag key, the object shape, and the errors of a damaged tree. */
import { SerializationError } from '../model/errors.js'
import type { Json } from '../model/json.js'

export type JsonObject = { [key: string]: Json }

/** The key of a tagged value: `{ "$": "<Tag>", "v": <payload> }`. */
export const TAG = '$'

/** Sets an own enumerable data property, even for `__proto__`, whose assignment sets the prototype. */
export function setOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else (target as Record<string, unknown>)[key] = value
}

export function isRecord(tree: Json | undefined): tree is JsonObject {
  return typeof tree === 'object' && tree !== null && !Array.isArray(tree)
}

export function malformed(what: string): SerializationError {
  return new SerializationError(`Cannot decode ${what}: the data is damaged, or was written by a newer version of celeriac; decode only what encode made`)
}
