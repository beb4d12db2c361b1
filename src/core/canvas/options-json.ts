/** Send options and arguments in their JSON form (what a signature's `toJSON` writes). */
import { PLAIN_SEND_OPTIONS } from '../model/options.js'
import type { LinkTarget, PlainSendOption, SendOptions } from '../model/options.js'
import type { SignatureJSON, SignatureOptionsJSON } from '../model/message.js'
import type { Encoded } from '../model/json.js'
import { checkTime } from '../model/validate.js'
import { encode } from '../serializer/encode.js'

/** A link option as a list. */
export function asList(value: LinkTarget | readonly LinkTarget[] | undefined): LinkTarget[] {
  if (value === undefined) return []
  return Array.isArray(value) ? [...(value as readonly LinkTarget[])] : [value as LinkTarget]
}

/** @internal */
export function encodeArgs(args: readonly unknown[], root = 'args'): Encoded[] {
  const out = encode(args, root)
  return out as Encoded[]
}

/** @internal JSON form of send options: times absolute where they were Dates, signatures as JSON. */
export function optionsToJSON(options: Readonly<SendOptions>): SignatureOptionsJSON {
  // Most sends give no options (`delay`): they share one frozen empty object.
  let given = false
  for (const _ in options) {
    given = true
    break
  }
  if (!given) return NO_OPTIONS_JSON
  const out: SignatureOptionsJSON = {}
  copyPlainOptions(options, out)
  if (options.eta !== undefined) out.eta = checkTime(options.eta, 'eta')
  if (options.expires !== undefined) {
    if (options.expires instanceof Date) out.expiresAt = checkTime(options.expires, 'expires')
    else out.expires = options.expires
  }
  if (options.headers !== undefined) out.headers = encode(options.headers, 'headers')
  if (options.link !== undefined) out.link = asList(options.link).map((s) => s.toJSON() as SignatureJSON)
  if (options.linkError !== undefined) out.linkError = asList(options.linkError).map((s) => s.toJSON() as SignatureJSON)
  return out
}

/** @internal Copies the send options kept as given (PLAIN_SEND_OPTIONS), either way between a send and its JSON. */
export function copyPlainOptions(from: Readonly<Pick<SendOptions, PlainSendOption>>, to: Pick<SendOptions, PlainSendOption>): void {
  const out = to as Record<PlainSendOption, unknown>
  for (let i = 0; i < PLAIN_SEND_OPTIONS.length; i++) {
    const key = PLAIN_SEND_OPTIONS[i]!
    if (from[key] !== undefined) out[key] = from[key]
  }
}

const NO_OPTIONS_JSON: SignatureOptionsJSON = Object.freeze({})
