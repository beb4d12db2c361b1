/** Custom headers down a workflow: a node's own over those it inherits, key by key. */
import type { Encoded } from '../model/json.js'
import { decode } from '../serializer/decode.js'
import { encode } from '../serializer/encode.js'

/**
 * A node's headers: its own over those it inherits (from the task that sent it, a chain's earlier
 * steps, a group it was flattened out of), key by key. Decoded only when both have some.
 */
export function withInherited(own: Encoded | undefined, inherited: Encoded | null | undefined): Encoded | null {
  if (own === undefined) return inherited ?? null
  if (inherited === null || inherited === undefined) return own
  return encode({ ...decode<Record<string, unknown>>(inherited), ...decode<Record<string, unknown>>(own) }, 'headers')
}
