/** Send options and arguments in their JSON form (what a signature's `toJSON` writes). */
import type { LinkTarget, SendOptions } from '../model/options.js'
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
  if (options.countdown !== undefined) out.countdown = options.countdown
  if (options.eta !== undefined) out.eta = checkTime(options.eta, 'eta')
  if (options.expires !== undefined) {
    if (options.expires instanceof Date) out.expiresAt = checkTime(options.expires, 'expires')
    else out.expires = options.expires
  }
  if (options.queue !== undefined) out.queue = options.queue
  if (options.priority !== undefined) out.priority = options.priority
  if (options.headers !== undefined) out.headers = encode(options.headers, 'headers')
  if (options.taskId !== undefined) out.taskId = options.taskId
  if (options.link !== undefined) out.link = asList(options.link).map((s) => s.toJSON() as SignatureJSON)
  if (options.linkError !== undefined) out.linkError = asList(options.linkError).map((s) => s.toJSON() as SignatureJSON)
  if (options.ignoreResult !== undefined) out.ignoreResult = options.ignoreResult
  if (options.timeLimit !== undefined) out.timeLimit = options.timeLimit
  if (options.softTimeLimit !== undefined) out.softTimeLimit = options.softTimeLimit
  return out
}

const NO_OPTIONS_JSON: SignatureOptionsJSON = Object.freeze({})
