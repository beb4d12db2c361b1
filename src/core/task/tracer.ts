/**
 * Runs one task where it runs (inline, or inside a worker): builds `self` and its request,
 * calls the hooks in Celery's order, turns errors into retry/failure decisions, and reports the
 * outcome. Storing the outcome is the engine's job; hooks after it wait until it is stored.
 */
import { Ignore, Reject, Retry } from '../model/errors.js'
import type { ErrorMatcher } from '../model/options.js'
import type { Outcome } from '../model/protocol.js'
import type { TaskMessage } from '../model/message.js'
import { encode, encodeError } from '../serializer/encode.js'
import { decode } from '../serializer/decode.js'
import type { Encoded } from '../model/json.js'
import { FAILURE, SUCCESS } from '../model/states.js'
import { ABORT, RUN, Task, hasHook } from './task.js'
import { inRun } from './current-run.js'
import type { Lock, Request, RunContext } from './task.js'

/** How the tracer reports; implemented by the runtime. */
export interface TraceReporter {
  /** Reports the outcome; with `hooks`, resolves once it is stored (the hooks then run). */
  outcome(outcome: Outcome, hooks: boolean): Promise<void> | undefined
  /** The hooks after the outcome are done. */
  finished(): void
}

export interface TraceInput {
  readonly task: Task<never, unknown>
  readonly message: TaskMessage
  readonly hostname: string
  /** Aborts `self.signal` (made on first use). */
  readonly abort: { readonly signal: AbortSignal; readonly aborted: boolean }
  /** What `self` asks of the engine; made only when a bound `self` is (most runs never need it). */
  context(): RunContext
  readonly isEager?: boolean
}

type AnyArgs = never

/**
 * Runs the task of `input.message` and reports through `reporter`. Never rejects. A plain task
 * (see {@link isPlain}) that returns a value reports it before `trace` returns, with no promise.
 * The body and its hooks run as the code of the run (current-run.ts), so a plain send in them is
 * the run's child; not in `apply()`, as Celery's `current_worker_task` skips eager calls.
 */
export function trace(input: TraceInput, reporter: TraceReporter): Promise<void> | undefined {
  const done = input.isEager === true ? traceHere(input, reporter) : inRun(input, traceHere, input, reporter)
  if (done === undefined || done instanceof Promise) return done
  // A plain body's value, reported once out of the run's context: what the report sets off is
  // the engine's work, no run's, and the inline executor need not leave the context for it.
  void reporter.outcome(done, false)
  return undefined
}

/** Returns a plain body's outcome when it is known at once (for `trace` to report), else reports it itself. */
function traceHere(input: TraceInput, reporter: TraceReporter): Promise<void> | Outcome | undefined {
  if (!isPlain(input.task)) return traceBound(input, reporter)
  let args: unknown[]
  try {
    args = bodyArgs(input.message.args)
  } catch (error) {
    void reporter.outcome({ type: 'failure', error: encodeError(error) }, false)
    return undefined
  }
  let value: unknown
  // Called as a plain function, as Task.call does for a task that is not bound.
  const fn = input.task.fn as (...a: unknown[]) => unknown
  try {
    value = fn(...args)
  } catch (caught) {
    return reportCaught(input, reporter, args, caught)
  }
  if (isThenable(value)) {
    return Promise.resolve(value).then(
      (resolved) => reportValue(input, reporter, args, resolved),
      (caught: unknown) => reportCaught(input, reporter, args, caught),
    )
  }
  let encoded: Encoded
  try {
    encoded = encode(value, 'result')
  } catch (caught) {
    return reportCaught(input, reporter, args, caught)
  }
  return { type: 'success', value: encoded }
}

/**
 * A task with nothing around its body: not bound, no `call` override, no hooks but `onRetry`, no
 * lock option. Its body gets the arguments alone, so no `self` or request is made unless it
 * fails (a retry decision reads the task's options through `self`).
 */
function isPlain(task: Task<never, unknown>): boolean {
  return (
    !task.bind &&
    task.lockOption === null &&
    task.call === PLAIN_CALL &&
    // hasHook's test, as named loads (every task's path): a hook is one a subclass overrides.
    task.beforeStart === BASE.beforeStart &&
    task.onSuccess === BASE.onSuccess &&
    task.onFailure === BASE.onFailure &&
    task.afterReturn === BASE.afterReturn
  )
}

/**
 * A plain body's arguments: the message's own array when no element needs decoding (strings,
 * numbers, booleans, null encode as themselves), else a decoded copy. The body gets them spread,
 * so it cannot change the message's array; a `self` made for a failure copies it (see
 * {@link reportCaught}). Every plain run's path: most arguments are such values.
 */
function bodyArgs(encoded: Encoded): unknown[] {
  if (Array.isArray(encoded)) {
    let i = 0
    while (i < encoded.length && (typeof encoded[i] !== 'object' || encoded[i] === null)) i++
    if (i === encoded.length) return encoded
  }
  return decode<unknown[]>(encoded)
}

const BASE: Task<never, unknown> = Task.prototype
const PLAIN_CALL = BASE.call

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function reportValue(input: TraceInput, reporter: TraceReporter, args: unknown[], value: unknown): Promise<void> | undefined {
  let encoded: Encoded
  try {
    encoded = encode(value, 'result')
  } catch (caught) {
    return reportCaught(input, reporter, args, caught)
  }
  void reporter.outcome({ type: 'success', value: encoded }, false)
  return undefined
}

/** A plain task failed: decide (retry, autoretry, failure) with a `self` made now. */
function reportCaught(input: TraceInput, reporter: TraceReporter, args: unknown[], caught: unknown): Promise<void> {
  let self: Task<unknown[], unknown>
  try {
    // `request.args` is the task's to change: never the message's own array (see bodyArgs).
    self = makeSelf(input, args === input.message.args ? args.slice() : args)
  } catch (error) {
    void reporter.outcome({ type: 'failure', error: encodeError(error) }, false)
    return Promise.resolve()
  }
  return decide(self, caught, self.request).then(({ outcome }) => void reporter.outcome(outcome, false))
}

/** The per-run `self`: its prototype is the task, so options, hooks and helpers show through. */
function makeSelf(input: TraceInput, args: unknown[]): Task<unknown[], unknown> {
  const { message } = input
  const headers = message.headers === null ? {} : decode<Record<string, unknown>>(message.headers)
  const request: Request = {
    id: message.id,
    task: message.task,
    args,
    retries: message.retries,
    eta: message.eta,
    expires: message.expires,
    hostname: input.hostname,
    deliveryInfo: { queue: message.queue, priority: message.priority, redelivered: message.redelivered },
    calledDirectly: false,
    isEager: input.isEager ?? false,
    parentId: message.parentId,
    rootId: message.rootId,
    groupId: message.groupId,
    groupIndex: message.groupIndex,
    chord: message.chord,
    headers,
  }
  const self = Object.create(input.task) as Task<unknown[], unknown>
  self.request = request
  self[ABORT] = input.abort
  self[RUN] = input.context()
  return self
}

/** The full trace: a bound `self`, hooks in Celery's order, the lock option. */
async function traceBound(input: TraceInput, reporter: TraceReporter): Promise<void> {
  const { task, message } = input
  let args: unknown[]
  let self: Task<unknown[], unknown>
  try {
    args = decode<unknown[]>(message.args)
    self = makeSelf(input, args)
  } catch (error) {
    await reporter.outcome({ type: 'failure', error: encodeError(error) }, false)
    return
  }
  const request = self.request
  const callArgs = args as AnyArgs[]

  let value: unknown
  let outcome: Outcome
  let error: unknown
  let held: Lock | null = null
  try {
    if (hasHook(task, 'beforeStart')) await self.beforeStart(message.id, callArgs as never)
    const lockOption = task.lockOption
    let skipped = false
    if (lockOption !== null) {
      const key = (lockOption.key as (...a: unknown[]) => string)(...args)
      held = await self.lock(key, { ttl: lockOption.ttl })
      if (held === null) {
        if (lockOption.onLocked === 'retry') throw self.retry()
        self.log.info(`${message.task}[${message.id}] skipped: lock '${key}' is held`)
        skipped = true
      }
    }
    value = skipped ? null : await self.call(...callArgs)
    outcome = { type: 'success', value: encode(value, 'result') }
  } catch (caught) {
    error = caught
    const decided = await decide(self, caught, request)
    outcome = decided.outcome
    error = decided.error
  } finally {
    if (held !== null) await held.release().catch(() => false)
  }

  const hooks =
    (outcome.type === 'success' && (hasHook(task, 'onSuccess') || hasHook(task, 'afterReturn'))) ||
    (outcome.type === 'failure' && (hasHook(task, 'onFailure') || hasHook(task, 'afterReturn')))
  await reporter.outcome(outcome, hooks)
  if (!hooks) return
  const einfo = error instanceof Error ? (error.stack ?? null) : null
  try {
    if (outcome.type === 'success') {
      await self.onSuccess(value, message.id, args as never)
      await self.afterReturn(SUCCESS, value, message.id, args as never, null)
    } else {
      await self.onFailure(error, message.id, args as never, einfo)
      await self.afterReturn(FAILURE, error, message.id, args as never, einfo)
    }
  } catch (hookError) {
    input.context().log('error', `hook of ${message.task}[${message.id}] threw: ${String(hookError)}`)
  } finally {
    reporter.finished()
  }
}

async function decide(self: Task<unknown[], unknown>, caught: unknown, request: Request): Promise<{ outcome: Outcome; error: unknown }> {
  if (caught instanceof Retry) return retryOutcome(self, caught, request)
  if (caught instanceof Ignore) return { outcome: { type: 'ignore' }, error: caught }
  if (caught instanceof Reject) return { outcome: { type: 'reject', requeue: caught.requeue, error: encodeError(caught) }, error: caught }
  if (matches(self.autoretryFor, caught) && !matches(self.dontAutoretryFor, caught)) {
    let countdown: number | undefined
    if (self.retryBackoff !== false) {
      const base = self.retryBackoff === true ? 1000 : self.retryBackoff
      countdown = Math.min(self.retryBackoffMax, base * 2 ** request.retries)
    }
    try {
      const retry = self.retry(countdown === undefined ? { exc: caught } : { exc: caught, countdown })
      return retryOutcome(self, retry, request, countdown !== undefined && self.retryJitter)
    } catch (exhausted) {
      return { outcome: { type: 'failure', error: encodeError(exhausted) }, error: exhausted }
    }
  }
  return { outcome: { type: 'failure', error: encodeError(caught) }, error: caught }
}

async function retryOutcome(self: Task<unknown[], unknown>, retry: Retry, request: Request, jitter = false): Promise<{ outcome: Outcome; error: unknown }> {
  const exc = retry.exc ?? retry
  const einfo = exc instanceof Error ? (exc.stack ?? null) : null
  try {
    await self.onRetry(exc, request.id, request.args as never, einfo)
  } catch (hookError) {
    self.log.error(`onRetry of ${request.task}[${request.id}] threw: ${String(hookError)}`)
  }
  const eta = retry.request.eta === undefined ? null : retry.request.eta instanceof Date ? retry.request.eta.getTime() : retry.request.eta
  const countdown = retry.request.countdown ?? (eta === null ? self.defaultRetryDelay : null)
  const error: Encoded | null = retry.exc === undefined ? null : encodeError(retry.exc)
  return { outcome: { type: 'retry', error, countdown, eta, jitter }, error: exc }
}

/**
 * When a retry runs again (epoch ms): its `eta`, else `now` plus its countdown, which with
 * `jitter` is drawn uniformly from [0, countdown], both ends included as in Celery (full jitter).
 * The engine and `apply()` draw, not the tracer, so a seeded `random` works in any executor.
 */
export function retryDue(outcome: Extract<Outcome, { type: 'retry' }>, now: number, random: () => number): number {
  if (outcome.eta !== null) return outcome.eta
  const countdown = outcome.countdown ?? 0
  return now + (outcome.jitter ? Math.floor(random() * (countdown + 1)) : countdown)
}

function matches(matcher: ErrorMatcher | undefined, error: unknown): boolean {
  if (matcher === undefined) return false
  if (typeof matcher === 'function') return matcher(error)
  for (const cls of matcher) {
    if (error instanceof (cls as unknown as abstract new () => Error)) return true
    // Across realms a class is known by name only.
    if (error instanceof Error && error.name === cls.name) return true
  }
  return false
}
