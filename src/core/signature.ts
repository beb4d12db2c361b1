/**
 * Signature: an immutable description of a task call (name, args, options) that can be sent
 * later, linked, or composed into chains, groups and chords (see `canvas.ts`).
 */
import { ConfigError } from './errors.js'
import type { LinkTarget, SendOptions } from './options.js'
import type { SignatureJSON, SignatureOptionsJSON } from './message.js'
import { decode, encode } from './serializer.js'
import type { Encoded } from './serializer.js'
import type { AsyncResult } from './result.js'
import type { Fits, HandleOf, ResultOf } from './canvas.js'
import { checkTime } from './validate.js'

/** What sends a signature: a started app. Kept as an interface so signatures never import the app. */
export interface Sender {
  sendSignature(signature: Signature<unknown[], unknown, unknown>, args: readonly unknown[], options: SendOptions): Promise<unknown>
}

let currentSender: Sender | undefined

/** @internal The app that started last sends signatures made by name. */
export function setCurrentSender(sender: Sender | undefined): void {
  currentSender = sender
}

/** @internal */
export function getCurrentSender(): Sender | undefined {
  return currentSender
}

/** A tuple type minus a suffix: the arguments a partial signature still needs, prepended at call time. */
export type MissingArgs<A extends unknown[], Given extends unknown[]> = A extends [...infer M, ...Given] ? M : unknown[]

/** Every suffix of a tuple: the argument lists `task.s(...)` accepts. */
export type ArgSuffix<A extends unknown[]> = number extends A['length']
  ? A
  : A extends [unknown, ...infer T]
    ? A | ArgSuffix<T>
    : A extends [(infer O)?, ...infer T]
      ? A | [] | ArgSuffix<T> | [O?]
      : A

export type SignatureKind = 'task' | 'chain' | 'group' | 'chord'

interface SignatureFields {
  task: string
  args: readonly unknown[]
  options: Readonly<SendOptions>
  immutable: boolean
  sender: Sender | undefined
}

/**
 * An immutable task call. `M` is the arguments it still needs (a parent's result goes first),
 * `R` its result type, `H` the handle `delay()` resolves with.
 *
 * @example
 * const sig = add.s(2)            // Signature<[number], number>
 * const r = await sig.delay(3)    // add(3, 2)
 */
export class Signature<M extends unknown[] = unknown[], R = unknown, H = AsyncResult<R>> implements LinkTarget {
  readonly task: string
  readonly args: readonly unknown[]
  readonly options: Readonly<SendOptions>
  readonly immutable: boolean
  readonly kind: SignatureKind = 'task'
  /** @internal */
  readonly sender: Sender | undefined
  declare readonly __types?: { missing: M; result: R; handle: H }

  constructor(fields: SignatureFields) {
    this.task = fields.task
    this.args = Object.freeze([...fields.args])
    this.options = Object.freeze({ ...fields.options })
    this.immutable = fields.immutable
    this.sender = fields.sender
  }

  /** A copy with `options` merged in. */
  set(options: SendOptions): this {
    return this.clone({ options: { ...this.options, ...options } })
  }

  /** A copy with some fields replaced. */
  clone(overrides: { args?: readonly unknown[]; options?: SendOptions; immutable?: boolean } = {}): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this
    Object.assign(copy, this, {
      args: Object.freeze([...(overrides.args ?? this.args)]),
      options: Object.freeze({ ...(overrides.options ?? this.options) }),
      immutable: overrides.immutable ?? this.immutable,
    })
    return copy
  }

  /** A copy that runs `callback` after success, with this result prepended (unless immutable). */
  link(callback: LinkTarget): this {
    return this.set({ link: [...asList(this.options.link), callback] })
  }

  /** A copy that runs `errback` after failure, with the failed task's id prepended. */
  linkError(errback: LinkTarget): this {
    return this.set({ linkError: [...asList(this.options.linkError), errback] })
  }

  /**
   * This, then `next` (Celery's `|`): a chain, or a chord when this is a group. The types check
   * that `next` accepts this result, as `chain()` does.
   *
   * @example
   * await add.s(2, 2).pipe(add.s(4)).delay()
   */
  pipe<N extends Signature<unknown[], unknown, unknown>>(next: N & Fits<N, R>): Signature<M, ResultOf<N>, HandleOf<N>> {
    if (pipeImpl === undefined) throw new ConfigError('pipe() needs the canvas module; import from "celeriac"')
    return pipeImpl(this as Signature<unknown[], unknown, unknown>, next) as Signature<M, ResultOf<N>, HandleOf<N>>
  }

  /** Sends it with `partialArgs` prepended to its args. */
  delay(...partialArgs: M): Promise<H> {
    return this.applyAsync(partialArgs)
  }

  /** Sends it with `args` prepended and `options` merged over its own. */
  applyAsync(args?: M | readonly unknown[], options: SendOptions = {}): Promise<H> {
    const sender = this.sender ?? currentSender
    if (sender === undefined) {
      return Promise.reject(new ConfigError(`Cannot send '${this.describe()}': no app has started; await app.start() or use app.send(signature)`))
    }
    return sender.sendSignature(this as Signature<unknown[], unknown, unknown>, args ?? [], options) as Promise<H>
  }

  /** A short text, e.g. `math.add(2, 2)`. */
  describe(): string {
    return `${this.task}(${this.args.map((a) => safeString(a)).join(', ')})`
  }

  /** The JSON form (args encoded). Throws SerializationError naming a bad argument. */
  toJSON(): SignatureJSON {
    return {
      task: this.task,
      args: encodeArgs(this.args),
      options: optionsToJSON(this.options),
      immutable: this.immutable,
      kind: 'task',
    }
  }

  /** Rebuilds a signature (of any canvas kind) from its JSON form. */
  static fromJSON(json: SignatureJSON): Signature<unknown[], unknown, unknown> {
    const factory = fromJSONFactories.get(json.kind)
    if (factory !== undefined) return factory(json)
    return new Signature({
      task: json.task,
      args: json.args.map((a) => decode(a)),
      options: optionsFromJSON(json.options),
      immutable: json.immutable,
      sender: undefined,
    })
  }
}

let pipeImpl: ((left: Signature<unknown[], unknown, unknown>, right: Signature<unknown[], unknown, unknown>) => unknown) | undefined

/** @internal canvas.ts provides `pipe` (a chain, or a chord after a group). */
export function setPipe(fn: typeof pipeImpl): void {
  pipeImpl = fn
}

const fromJSONFactories = new Map<SignatureKind, (json: SignatureJSON) => Signature<unknown[], unknown, unknown>>()

/** @internal canvas.ts registers how chains, groups and chords come back from JSON. */
export function registerSignatureKind(kind: SignatureKind, factory: (json: SignatureJSON) => Signature<unknown[], unknown, unknown>): void {
  fromJSONFactories.set(kind, factory)
}

/**
 * A signature by task name, for tasks defined elsewhere (another module, another runtime).
 *
 * @example
 * await signature('math.add', { args: [2, 2] }).delay()
 */
export function signature<R = unknown>(
  name: string,
  init: { args?: readonly unknown[]; options?: SendOptions; immutable?: boolean } = {},
): Signature<unknown[], R> {
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError('signature(name): the task name must be a non-empty string')
  return new Signature<unknown[], R>({
    task: name,
    args: init.args ?? [],
    options: init.options ?? {},
    immutable: init.immutable ?? false,
    sender: undefined,
  })
}

function asList(value: LinkTarget | readonly LinkTarget[] | undefined): LinkTarget[] {
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

/** @internal */
export function optionsFromJSON(json: SignatureOptionsJSON): SendOptions {
  const out: SendOptions = {}
  if (json.countdown !== undefined) out.countdown = json.countdown
  if (json.eta !== undefined) out.eta = json.eta
  if (json.expiresAt !== undefined) out.expires = new Date(json.expiresAt)
  else if (json.expires !== undefined) out.expires = json.expires
  if (json.queue !== undefined) out.queue = json.queue
  if (json.priority !== undefined) out.priority = json.priority
  if (json.headers !== undefined) out.headers = decode(json.headers)
  if (json.taskId !== undefined) out.taskId = json.taskId
  if (json.link !== undefined) out.link = json.link.map((s) => Signature.fromJSON(s))
  if (json.linkError !== undefined) out.linkError = json.linkError.map((s) => Signature.fromJSON(s))
  if (json.ignoreResult !== undefined) out.ignoreResult = json.ignoreResult
  if (json.timeLimit !== undefined) out.timeLimit = json.timeLimit
  if (json.softTimeLimit !== undefined) out.softTimeLimit = json.softTimeLimit
  return out
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    return '?'
  }
}
