/**
 * Checks at the edge: bad input gets a ConfigError that names the field and says what to do.
 * Every rule for what a call accepts is here; the entry points call these, nothing deeper does.
 */
import { ConfigError } from './errors.js'
import type { Rate, SendOptions } from './options.js'

/** The largest time a Date holds, ms from the epoch either way; times and durations beyond it are refused. */
const MAX_MS = 8.64e15

function isPriority(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 9
}

function isDuration(value: unknown, positive = false): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_MS && (!positive || value > 0)
}

function isTime(value: unknown): boolean {
  if (value instanceof Date) return !Number.isNaN(value.getTime())
  return typeof value === 'number' && Math.abs(value) <= MAX_MS
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

export function checkPriority(value: unknown, where: string): number {
  if (!isPriority(value)) {
    throw new ConfigError(`${where}: priority must be a whole number from 0 to 9 (higher runs first), got ${describe(value)}`)
  }
  return value
}

/** A duration in ms: finite, >= 0 (or > 0 with `positive`), and no longer than a Date can reach. */
export function checkDuration(value: unknown, where: string, positive = false): number {
  // NaN fails every comparison, so it is refused with the rest.
  if (!isDuration(value, positive)) {
    throw new ConfigError(`${where} must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds, got ${describe(value)}`)
  }
  return value
}

/** A time: a valid Date or epoch ms within a Date's range. */
export function checkTime(value: unknown, where: string): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw new ConfigError(`${where} is an invalid Date`)
    return ms
  }
  if (isTime(value)) return value as number
  throw new ConfigError(`${where} must be a Date or epoch milliseconds, got ${describe(value)}`)
}

/** A count or amount: a finite number >= 0. */
export function checkCount(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${where} must be a finite number >= 0, got ${describe(value)}`)
  }
  return value
}

/** A whole number >= `min` (a size, a count of slots). */
export function checkWholeNumber(value: unknown, where: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${where} must be a whole number >= ${String(min)}, got ${describe(value)}`)
  }
  return value
}

/**
 * The items of a list: an array or another iterable object (a Set, a generator). A string is
 * refused: iterating it gives its characters, which is never what was meant.
 */
export function checkIterable(value: unknown, where: string, of: string): Iterable<unknown> {
  if (value === null || typeof value !== 'object' || typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
    throw new ConfigError(`${where} must be an array (or another iterable) of ${of}, got ${describe(value)}`)
  }
  return value as Iterable<unknown>
}

export function checkName(value: unknown, where: string): string {
  if (!isName(value)) {
    throw new ConfigError(`${where} must be a non-empty string, got ${describe(value)}`)
  }
  return value
}

export function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false, got ${describe(value)}`)
  return value
}

/** A plain object (`{ ... }`), not an array, a class instance or a primitive. */
export function checkPlainObject(value: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ConfigError(`${where} must be a plain object ({ key: value }), got ${describe(value)}`)
  return value
}

/** The positional arguments of a call. Celery's `as_task_v2` refuses the same ('task args must be a list or tuple'). */
export function checkArgs(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(`${where} must be an array of positional arguments, e.g. [2, 2]; got ${describe(value)}`)
  }
  return value
}

/** Something a link or errback can be: a signature of any kind (checked by shape: the canvas lives above this layer). */
function isSignature(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const v = value as { toJSON?: unknown; kind?: unknown; task?: unknown }
  return typeof v.toJSON === 'function' && typeof v.kind === 'string' && typeof v.task === 'string'
}

function checkLinks(value: unknown, task: string, field: string): void {
  const list = Array.isArray(value) ? (value as unknown[]) : [value]
  for (let i = 0; i < list.length; i++) {
    if (!isSignature(list[i])) {
      const at = `${whereOf(task)}: ${field}${Array.isArray(value) ? `[${String(i)}]` : ''}`
      throw new ConfigError(`${at} must be a signature (task.s(...), task.si(...), signature(name)) or a list of them, got ${describe(list[i])}`)
    }
  }
}

/**
 * One check per send option: the mapped type makes a new option fail to compile until it has
 * one. Each tests the value first and builds its message only when it fails (sends are hot).
 */
const SEND_OPTION_CHECKS: { readonly [K in keyof Required<SendOptions>]: (value: unknown, task: string) => void } = {
  countdown: (v, t) => isDuration(v) || checkDuration(v, `${whereOf(t)}: countdown`),
  eta: (v, t) => isTime(v) || checkTime(v, `${whereOf(t)}: eta`),
  expires: (v, t) => isDuration(v) || (v instanceof Date ? checkTime(v, `${whereOf(t)}: expires`) : checkDuration(v, `${whereOf(t)}: expires`)),
  queue: (v, t) => isName(v) || checkName(v, `${whereOf(t)}: queue`),
  priority: (v, t) => isPriority(v) || checkPriority(v, whereOf(t)),
  headers: (v, t) => isPlainObject(v) || checkPlainObject(v, `${whereOf(t)}: headers`),
  taskId: (v, t) => isName(v) || checkName(v, `${whereOf(t)}: taskId`),
  link: (v, t) => checkLinks(v, t, 'link'),
  linkError: (v, t) => checkLinks(v, t, 'linkError'),
  ignoreResult: (v, t) => typeof v === 'boolean' || checkBoolean(v, `${whereOf(t)}: ignoreResult`),
  timeLimit: (v, t) => isDuration(v, true) || checkDuration(v, `${whereOf(t)}: timeLimit`, true),
  softTimeLimit: (v, t) => isDuration(v, true) || checkDuration(v, `${whereOf(t)}: softTimeLimit`, true),
}

function whereOf(task: string): string {
  return task === '' ? 'canvas options' : `options for '${task}'`
}

/**
 * Checks the send options of a call or a signature (`task` names it in the message; '' for a
 * chain, group or chord). An option given as `undefined` counts as not given.
 */
export function checkSendOptions(options: unknown, task: string): void {
  if (!isPlainObject(options)) throw new ConfigError(`${whereOf(task)} must be a plain object such as { countdown: 1000 }, got ${describe(options)}`)
  for (const key in options) {
    const value = options[key]
    if (value === undefined) continue
    if (!Object.hasOwn(SEND_OPTION_CHECKS, key)) throw unknownKey(key, whereOf(task), Object.keys(SEND_OPTION_CHECKS))
    SEND_OPTION_CHECKS[key as keyof SendOptions](value, task)
  }
  const o = options as SendOptions
  if (o.countdown !== undefined && o.eta !== undefined) throw new ConfigError(`${whereOf(task)}: give countdown or eta, not both`)
  if (o.timeLimit !== undefined && o.softTimeLimit !== undefined && o.softTimeLimit > o.timeLimit) {
    throw new ConfigError(`${whereOf(task)}: softTimeLimit (${String(o.softTimeLimit)} ms) must not exceed timeLimit (${String(o.timeLimit)} ms)`)
  }
}

/**
 * Checks an options object whose keys are `known` (and nothing else); returns it typed. For the
 * small option bags of results and control (`get`, `revoke`, `timeLimit`).
 */
export function checkOptionKeys<T extends object>(options: unknown, known: ReadonlyArray<keyof T & string>, where: string): Partial<T> {
  if (!isPlainObject(options)) throw new ConfigError(`${where}: options must be a plain object such as { ${known[0]!}: ... }, got ${describe(options)}`)
  for (const key in options) {
    if (options[key] !== undefined && !known.includes(key as keyof T & string)) throw unknownKey(key, where, known)
  }
  return options as Partial<T>
}

/** An unknown option: Celery's snake_case names are pointed to their camelCase ones, `kwargs` to positional args. */
function unknownKey(key: string, where: string, known: readonly string[]): ConfigError {
  if (key === 'kwargs') {
    return new ConfigError(`${where}: kwargs is not an option: celeriac tasks take positional arguments only; pass the object as an argument`)
  }
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
  const hint = camel !== key && known.includes(camel) ? `; did you mean '${camel}'?` : `; known options: ${known.join(', ')}`
  return new ConfigError(`${where}: unknown option '${key}'${hint}`)
}

const RATE = /^(\d+(?:\.\d+)?)\/([smh])$/
const PER = { s: 1000, m: 60_000, h: 3_600_000 } as const

/**
 * Throws ConfigError unless `value` has the shape of a signature's JSON (`toJSON()`): a known
 * `kind`, a task name and an args list for a task, a `tasks` list for a canvas, a `body` for a
 * chord, options as an object; nested nodes are checked with their path.
 */
export function checkSignatureJSON(value: unknown, where: string): void {
  const json = checkPlainObject(value, where) as { kind?: unknown; task?: unknown; args?: unknown; options?: unknown; tasks?: unknown; body?: unknown }
  const kind = json.kind
  if (kind !== 'task' && kind !== 'chain' && kind !== 'group' && kind !== 'chord') {
    throw new ConfigError(`${where}: kind must be 'task', 'chain', 'group' or 'chord' (pass what toJSON() gave), got ${describe(kind)}`)
  }
  if (!Array.isArray(json.args)) throw new ConfigError(`${where}: args must be an array (pass what toJSON() gave), got ${describe(json.args)}`)
  checkPlainObject(json.options, `${where}: options`)
  if (kind === 'task') {
    checkName(json.task, `${where}: task`)
    return
  }
  if (!Array.isArray(json.tasks)) throw new ConfigError(`${where}: tasks must be an array for a ${kind}, got ${describe(json.tasks)}`)
  for (let i = 0; i < json.tasks.length; i++) checkSignatureJSON(json.tasks[i], `${where}.tasks[${String(i)}]`)
  if (kind === 'chord') checkSignatureJSON(json.body, `${where}.body`)
}

/**
 * Parses a rate into the interval between executions, ms (Celery's token bucket has capacity 1,
 * so a rate is an even spacing). `null`/0 = no limit.
 */
export function parseRate(rate: Rate | null | undefined, where: string): number | null {
  if (rate === null || rate === undefined || rate === 0) return null
  if (typeof rate === 'number') {
    if (!Number.isFinite(rate) || rate < 0) throw new ConfigError(`${where}: a rate must be a positive number per second, got ${rate}`)
    return 1000 / rate
  }
  const match = typeof rate === 'string' ? RATE.exec(rate) : null
  if (match === null) {
    throw new ConfigError(`${where}: bad rate ${describe(rate)}; write it as '10/s', '100/m', '1/h' or a number per second`)
  }
  const count = Number(match[1])
  if (count === 0) return null
  return PER[match[2] as keyof typeof PER] / count
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  // Any realm's Object.prototype (a worker's, a frame's), or none: not a class instance.
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === null || Object.getPrototypeOf(proto) === null
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (value instanceof Date) return `Date(${String(value.getTime())})`
  if (Array.isArray(value)) return 'an array'
  if (isPlainObject(value)) return 'an object'
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'a class'}`
  return `a ${typeof value}`
}
