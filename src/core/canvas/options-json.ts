/** Send options and arguments in their JSON form (what a signature's `toJSON` writes). */
import { PLAIN_SEND_OPTIONS } from '../model/options.js'
import type { LinkTarget, PlainSendOption, SendOptions } from '../model/options.js'
import type { SignatureJSON, SignatureOptionsJSON } from '../model/message.js'
import type { Encoded } from '../model/json.js'
import { checkArgs, checkSendOptions, checkTime } from '../model/validate.js'
import { encode } from '../serializer/encode.js'

/** A link option as a list. */
export function asList(value: LinkTarget | readonly LinkTarget[] | undefined): LinkTarget[] {
  if (value === undefined) return []
  return Array.isArray(value) ? [...(value as readonly LinkTarget[])] : [value as LinkTarget]
}

/** @internal Throws ConfigError when `args` is not an array, SerializationError naming a bad argument. */
export function encodeArgs(args: readonly unknown[], root = 'args'): Encoded[] {
  if (!Array.isArray(args)) checkArgs(args, root)
  const out = encode(args, root)
  return out as Encoded[]
}

/**
 * @internal JSON form of send options: times absolute where they were Dates, signatures as JSON.
 * Checks them first (ConfigError naming the option; `task` names the send, '' for a canvas).
 */
export function optionsToJSON(options: Readonly<SendOptions>, task = ''): SignatureOptionsJSON {
  // Most sends give no options (`delay`): they share one frozen empty object.
  let given = false
  for (const _ in options) {
    given = true
    break
  }
  if (!given) {
    if (typeof options !== 'object' || options === null) checkSendOptions(options, task)
    return NO_OPTIONS_JSON
  }
  checkSendOptions(options, task)
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

/**
 * @internal `base` with the options of `over` that are set: an option given as `undefined` leaves
 * the stored one (a signature's, a canvas's) as it is. Checks `over` (ConfigError).
 */
export function mergeSendOptions(base: Readonly<SendOptions>, over: Readonly<SendOptions>, task: string): SendOptions {
  checkSendOptions(over, task)
  const out: Record<string, unknown> = { ...base }
  for (const key in over) {
    const value = (over as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  // countdown and eta are one setting given two ways: the one given last wins.
  if (over.countdown !== undefined) delete out.eta
  else if (over.eta !== undefined) delete out.countdown
  return out as SendOptions
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
