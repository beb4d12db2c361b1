/**
 * Records whose key is their value's own `id` (the core's messages and results): journals and
 * snapshots write such a value without its key, and read the key back as `value.id`. The key is
 * then neither written twice nor, on reading, parsed into a second string that the map keeps: a
 * million 36-character keys were a million live strings more for the collector to copy and mark
 * (NOTES.md, "Recovery time").
 */
/**
 * Whether `value` serializes with `"id": key` among its own properties: a plain object (no
 * prototype but Object's, no toJSON) whose own enumerable `id` is the key. Anything else keeps
 * its key beside it: reading must find the key in the JSON.
 */
export function keyedById(key: string, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const record = value as { id?: unknown; toJSON?: unknown }
  return (
    record.id === key &&
    record.toJSON === undefined &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Object.prototype.propertyIsEnumerable.call(value, 'id')
  )
}

/** The key of a value written without it: its `id`; undefined when that is no string (damage). */
export function idOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined
  return typeof id === 'string' ? id : undefined
}
