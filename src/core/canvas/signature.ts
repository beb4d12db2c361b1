/**
 * Signature: an immutable description of a task call (name, args, options) that can be sent
 * later, linked, or composed: Chain, Group and Chord are signatures too (here, with the types
 * that check a chain's steps fit). `compose.ts` has the `chain()`, `group()`, `chord()` makers,
 * `expand.ts` turns any of them into messages.
 */
import { ConfigError } from '../model/errors.js'
import type { LinkTarget, SendOptions } from '../model/options.js'
import type { SignatureJSON, SignatureOptionsJSON } from '../model/message.js'
import { decode } from '../serializer/decode.js'
import type { AsyncResult, GroupResult } from '../result/result.js'
import { checkArgs, checkBoolean, checkName, checkOptionKeys, checkSendOptions, checkSignatureJSON } from '../model/validate.js'
import { asList, copyPlainOptions, encodeArgs, mergeSendOptions, optionsToJSON } from './options-json.js'

/** What sends a signature: a started app. Kept as an interface so signatures never import the app. */
export interface Sender {
  sendSignature(signature: Signature<unknown[], unknown, unknown>, args: readonly unknown[], options: SendOptions): Promise<unknown>
}

/** Sends signatures that have no app of their own (made by name): set by the app layer. */
let currentSender: Sender | undefined

/** @internal The app that started last sends signatures made by name. */
export function setCurrentSender(sender: Sender | undefined): void {
  currentSender = sender
}

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

  /** Throws ConfigError on args that are not an array or bad options (the one check of a signature's fields). */
  constructor(fields: SignatureFields) {
    this.task = fields.task
    this.args = Object.freeze([...(Array.isArray(fields.args) ? fields.args : checkArgs(fields.args, argsWhere(fields.task)))])
    this.options = storedOptions(fields.options, fields.task)
    this.immutable = fields.immutable
    this.sender = fields.sender
  }

  /** A copy with `options` merged in; an option given as `undefined` keeps the stored one. */
  set(options: SendOptions): this {
    return this.clone({ options: mergeSendOptions(this.options, options, this.task) })
  }

  /** A copy with some fields replaced. Throws ConfigError on bad ones. */
  clone(overrides: { args?: readonly unknown[]; options?: SendOptions; immutable?: boolean } = {}): this {
    checkOptionKeys<typeof overrides>(overrides, ['args', 'options', 'immutable'], 'clone(overrides)')
    if (overrides.args !== undefined) checkArgs(overrides.args, argsWhere(this.task))
    if (overrides.immutable !== undefined) checkBoolean(overrides.immutable, 'clone(overrides): immutable')
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this
    Object.assign(copy, this, {
      args: Object.freeze([...(overrides.args ?? this.args)]),
      options: overrides.options === undefined ? this.options : storedOptions(overrides.options, this.task),
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
    checkSignature(next, 'pipe(next)')
    // group | task is a chord (Celery); anything else chains.
    const left = this as AnySignature
    const right = next as AnySignature
    if (left instanceof Group) return new Chord(left.tasks, right) as unknown as Signature<M, ResultOf<N>, HandleOf<N>>
    const steps = [...(left instanceof Chain ? left.tasks : [left]), ...(right instanceof Chain ? right.tasks : [right])]
    return new Chain(steps) as Signature<M, ResultOf<N>, HandleOf<N>>
  }

  /** Sends it with `partialArgs` prepended to its args. */
  delay(...partialArgs: M): Promise<H> {
    return this.applyAsync(partialArgs)
  }

  /**
   * Sends it with `args` prepended and `options` merged over its own (an option given as
   * `undefined` keeps the stored one). Rejects with ConfigError on bad args or options.
   */
  applyAsync(args?: M | readonly unknown[], options: SendOptions = {}): Promise<H> {
    const sender = this.sender ?? currentSender
    if (sender === undefined) {
      return Promise.reject(new ConfigError(`Cannot send '${this.describe()}': no app has started; await app.start() or use app.send(signature)`))
    }
    if (args !== undefined && !Array.isArray(args)) {
      try {
        checkArgs(args, argsWhere(this.task))
      } catch (error) {
        return Promise.reject(error)
      }
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
      options: optionsToJSON(this.options, this.task),
      immutable: this.immutable,
      kind: 'task',
    }
  }

  /** Rebuilds a signature (of any canvas kind) from its JSON form. */
  static fromJSON(json: SignatureJSON): Signature<unknown[], unknown, unknown> {
    checkSignatureJSON(json, 'Signature.fromJSON(json)')
    return fromJSON(json)
  }
}

/** A signature from JSON already checked (nested nodes included). */
function fromJSON(json: SignatureJSON): Signature<unknown[], unknown, unknown> {
  const fromTasks = (): AnySignature[] => (json.tasks ?? []).map(fromJSON)
  switch (json.kind) {
    case 'chain':
      return withOptions(new Chain(fromTasks()), json)
    case 'group':
      return withOptions(new Group(fromTasks()), json)
    case 'chord':
      return withOptions(new Chord(fromTasks(), fromJSON(json.body!)), json)
  }
  return new Signature({
    task: json.task,
    args: json.args.map((a) => decode(a)),
    options: optionsFromJSON(json.options),
    immutable: json.immutable,
    sender: undefined,
  })
}

/**
 * Any signature, whatever its types.
 *
 * @example
 * // A list of steps of different tasks, sent one after the other whatever they return.
 * const steps: AnySignature[] = [add.s(2, 2), signature('reports.rebuild'), group([add.s(1, 1), add.s(2, 2)])]
 * for (const step of steps) await step.delay()
 */
export type AnySignature = Signature<unknown[], unknown, unknown>

type TypesOf<S> = S extends { readonly __types?: infer T } ? NonNullable<T> : never
/**
 * The result type of a signature.
 *
 * @example
 * type Sum = ResultOf<typeof sum> // number
 */
export type ResultOf<S> = TypesOf<S> extends { result: infer R } ? R : unknown
/** The handle type `delay()` gives for a signature. */
export type HandleOf<S> = TypesOf<S> extends { handle: infer H } ? H : unknown
/** The arguments a signature still needs. */
export type MissingOf<S> = TypesOf<S> extends { missing: infer M extends unknown[] } ? M : unknown[]

/**
 * `S` when it accepts `Prev` as its missing first argument (or needs none), else the signature
 * type it should have been, so the mismatch shows in the error. A previous result of unknown
 * type (a signature made by name) is not checked.
 */
export type Fits<S, Prev> = unknown extends Prev
  ? S
  : number extends MissingOf<S>['length']
    ? S
    : MissingOf<S> extends []
      ? S
      : MissingOf<S> extends [infer First]
        ? [Prev] extends [First]
          ? S
          : Signature<[Prev], ResultOf<S>, HandleOf<S>>
        : Signature<[Prev], ResultOf<S>, HandleOf<S>>

/** Checks each step of a chain against the result of the step before it. */
export type CheckChain<S extends readonly unknown[], Prev = never, IsFirst = true> = S extends readonly [infer H, ...infer T]
  ? [IsFirst extends true ? H : Fits<H, Prev>, ...CheckChain<T, ResultOf<H>, false>]
  : []

/**
 * A chain: each step's result is prepended to the next step's args (unless immutable).
 *
 * @example
 * await (await chain(add.s(2, 2), add.s(4), add.s(8)).delay()).get() // 16
 */
export class Chain<M extends unknown[] = unknown[], R = unknown, H = AsyncResult<R>> extends Signature<M, R, H> {
  override readonly kind = 'chain' as const
  readonly tasks: readonly AnySignature[]

  constructor(tasks: readonly AnySignature[], options: SendOptions = {}) {
    super({ task: '', args: [], options, immutable: false, sender: tasks.find((t) => t.sender !== undefined)?.sender })
    this.tasks = Object.freeze([...tasks])
  }

  override describe(): string {
    return this.tasks.map((t) => t.describe()).join(' | ')
  }

  override toJSON(): SignatureJSON {
    return {
      task: '',
      args: encodeArgs(this.args),
      options: optionsToJSON(this.options),
      immutable: this.immutable,
      kind: 'chain',
      tasks: this.tasks.map((t) => t.toJSON()),
    }
  }
}

/**
 * A group: its signatures run in parallel; results come back in signature order.
 *
 * @example
 * await (await group([1, 2, 3].map((i) => add.s(i, i))).delay()).get() // [2, 4, 6]
 */
export class Group<M extends unknown[] = unknown[], R = unknown> extends Signature<M, R[], GroupResult<R[]>> {
  override readonly kind = 'group' as const
  readonly tasks: readonly AnySignature[]

  constructor(tasks: readonly AnySignature[], options: SendOptions = {}) {
    super({ task: '', args: [], options, immutable: false, sender: tasks.find((t) => t.sender !== undefined)?.sender })
    this.tasks = Object.freeze([...tasks])
  }

  override describe(): string {
    return `group(${this.tasks.map((t) => t.describe()).join(', ')})`
  }

  override toJSON(): SignatureJSON {
    return {
      task: '',
      args: encodeArgs(this.args),
      options: optionsToJSON(this.options),
      immutable: this.immutable,
      kind: 'group',
      tasks: this.tasks.map((t) => t.toJSON()),
    }
  }
}

/**
 * A chord: the body runs once after every header task succeeds, with their results in order.
 *
 * @example
 * await (await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()).get() // 6
 */
export class Chord<M extends unknown[] = unknown[], R = unknown> extends Signature<M, R, AsyncResult<R>> {
  override readonly kind = 'chord' as const
  readonly tasks: readonly AnySignature[]
  readonly body: AnySignature

  constructor(header: readonly AnySignature[], body: AnySignature, options: SendOptions = {}) {
    super({ task: '', args: [], options, immutable: false, sender: [...header, body].find((t) => t.sender !== undefined)?.sender })
    this.tasks = Object.freeze([...header])
    this.body = body
  }

  override describe(): string {
    return `chord([${this.tasks.map((t) => t.describe()).join(', ')}], ${this.body.describe()})`
  }

  override toJSON(): SignatureJSON {
    return {
      task: '',
      args: encodeArgs(this.args),
      options: optionsToJSON(this.options),
      immutable: this.immutable,
      kind: 'chord',
      tasks: this.tasks.map((t) => t.toJSON()),
      body: this.body.toJSON(),
    }
  }
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
  checkName(name, 'signature(name): the task name')
  checkOptionKeys<typeof init>(init, ['args', 'options', 'immutable'], `signature('${name}', init)`)
  if (init.immutable !== undefined) checkBoolean(init.immutable, `signature('${name}'): immutable`)
  return new Signature<unknown[], R>({
    task: name,
    args: init.args ?? [],
    options: init.options ?? {},
    immutable: init.immutable ?? false,
    sender: undefined,
  })
}

/** A signature's options as it keeps them: checked, without the ones given as `undefined`, frozen. */
function storedOptions(options: Readonly<SendOptions>, task: string): Readonly<SendOptions> {
  checkSendOptions(options, task)
  const out: Record<string, unknown> = {}
  for (const key in options) {
    const value = (options as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  return Object.freeze(out) as Readonly<SendOptions>
}

function argsWhere(task: string): string {
  return task === '' ? 'canvas args' : `args for '${task}'`
}

/** @internal Throws ConfigError unless `sig` is a signature and `options` good send options for it (`app.send`). */
export function checkSend(sig: unknown, options: unknown): void {
  checkSignature(sig, 'app.send(signature)')
  checkSendOptions(options, (sig as AnySignature).task)
}

/** @internal Throws ConfigError unless `value` is a signature (any canvas kind). */
export function checkSignature(value: unknown, where: string): void {
  if (!(value instanceof Signature)) {
    throw new ConfigError(`${where} must be a signature (task.s(...), task.si(...), signature(name)), got ${value === null ? 'null' : typeof value}`)
  }
}

/** @internal */
function optionsFromJSON(json: SignatureOptionsJSON): SendOptions {
  const out: SendOptions = {}
  copyPlainOptions(json, out)
  if (json.eta !== undefined) out.eta = json.eta
  if (json.expiresAt !== undefined) out.expires = new Date(json.expiresAt)
  else if (json.expires !== undefined) out.expires = json.expires
  if (json.headers !== undefined) out.headers = decode(json.headers)
  if (json.link !== undefined) out.link = json.link.map((s) => Signature.fromJSON(s))
  if (json.linkError !== undefined) out.linkError = json.linkError.map((s) => Signature.fromJSON(s))
  return out
}

function withOptions(sig: AnySignature, json: SignatureJSON): AnySignature {
  return sig.clone({ options: optionsFromJSON(json.options), args: json.args.map((a) => decode(a)) })
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    return '?'
  }
}
