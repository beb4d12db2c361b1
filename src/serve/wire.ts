/**
 * Values as JSON: what `JSON.stringify` would lose or throw on becomes plain data. Errors are
 * `{ name, message }` (the contract's shape), a Date its ISO string, a bigint its decimal string,
 * a Map its entries, a Set its values; `undefined` in an array becomes null, as JSON has it.
 */
export function toWire(value: unknown): unknown {
  return walk(value, new Set())
}

function walk(value: unknown, seen: Set<object>): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object') return null // undefined, functions, symbols
  if (seen.has(value)) return null // a cycle: decoded values cannot have one, but a payload might
  if (value instanceof Error) return { name: value.name, message: value.message }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  seen.add(value)
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, seen) ?? null)
    if (value instanceof Map) return [...value].map(([k, v]) => [walk(k, seen), walk(v, seen)])
    if (value instanceof Set) return [...value].map((v) => walk(v, seen))
    if (ArrayBuffer.isView(value)) return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return walk(toJSON.call(value), seen)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const w = walk(v, seen)
      if (v !== undefined) out[k] = w
    }
    return out
  } finally {
    seen.delete(value)
  }
}
