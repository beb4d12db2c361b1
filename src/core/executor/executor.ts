/**
 * Executors run tasks. The engine talks to every executor in the messages of `model/protocol.ts`; the
 * worker-side half of that conversation is {@link TaskRuntime}, written once and shared by the
 * inline executor, Node worker_threads and browser Web Workers.
 */
import { NotRegistered, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded, WorkerLostError } from '../model/errors.js'
import type { FromRuntime, GivenUpSender, Outcome, RpcCall, RunJob, ToRuntime, CancelReason } from '../model/protocol.js'
import type { TaskMessage } from '../model/message.js'
import { encode } from '../serializer/encode.js'
import { decode, decodeError } from '../serializer/decode.js'
import type { Encoded } from '../model/json.js'
import type { RunContext, Task } from '../task/task.js'
import { trace } from '../task/tracer.js'
import type { CurrentRun } from '../task/current-run.js'
import { LazyAbort } from './lazy-abort.js'
import { runContext } from './run-context.js'
import type { TraceInput, TraceReporter } from '../task/tracer.js'

/** Turns a cancel reason into the error `self.signal` aborts with. */
function cancelError(id: string, reason: CancelReason): Error {
  switch (reason) {
    case 'soft-time-limit':
      return new SoftTimeLimitExceeded(`Soft time limit exceeded for task ${id}`)
    case 'time-limit':
      return new TimeLimitExceeded(`Time limit exceeded for task ${id}`)
    case 'shutdown':
      return new WorkerLostError(`The worker is shutting down while task ${id} runs`)
    default:
      return new TaskRevokedError(`Task ${id} was ${reason}`, reason)
  }
}

/** The calls that park a run (the engine counts it waiting on the clock or a result, by its id). */
const PARKING_CALLS: ReadonlySet<RpcCall['type']> = new Set(['sleep', 'result.wait', 'result.next'])

/**
 * The worker-side runtime: runs jobs with the tracer, answers cancels, and turns `self` calls
 * into protocol messages. One instance per worker (or one for the inline executor).
 */
export class TaskRuntime {
  readonly #lookup: (name: string) => Task<never, unknown> | undefined
  readonly #post: (message: FromRuntime) => void
  readonly #runs = new Map<string, ActiveRun>()
  readonly #rpcs = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>()
  #nextRpc = 1
  readonly #concurrency: number
  readonly #reportStart: boolean
  readonly #flush: (() => void) | undefined
  /** Runs received but not started (prefetched), in order. */
  #waiting: RunJob[] = []
  /** Runs said `started` that wait for their lease to be stored before the body (RunStart `'lease-first'`). */
  readonly #leasing = new Map<string, RunJob>()
  /** Runs waiting for a result through the engine, with how many such calls each has in flight. */
  readonly #awaiting = new Map<string, number>()

  constructor(options: {
    lookup: (name: string) => Task<never, unknown> | undefined
    post: (message: FromRuntime) => void
    /** How many runs execute at once; more are held in order. @default Infinity */
    concurrency?: number
    /** Post `started` when a held run starts. @default false */
    reportStart?: boolean
    /** Sends what was posted so far now (a task may block its thread or exit right after it starts). */
    flush?: () => void
  }) {
    this.#lookup = options.lookup
    this.#post = options.post
    this.#concurrency = options.concurrency ?? Number.POSITIVE_INFINITY
    this.#reportStart = options.reportStart ?? false
    this.#flush = options.flush
  }

  /** How many runs are in progress here. */
  get active(): number {
    return this.#runs.size
  }

  /** Nothing is in progress, held, being leased or waiting for a reply here. */
  get quiet(): boolean {
    return this.#runs.size === 0 && this.#waiting.length === 0 && this.#leasing.size === 0 && this.#rpcs.size === 0
  }

  /** The run in progress here when it is the only one. */
  soleRun(): CurrentRun | undefined {
    if (this.#runs.size !== 1) return undefined
    return this.#runs.values().next().value
  }

  handle(message: ToRuntime): void {
    switch (message.type) {
      case 'run':
        for (const job of message.jobs) {
          if (this.#hasRoom()) this.#start(job)
          else this.#waiting.push(job)
        }
        return
      case 'cancel': {
        const held = this.#waiting.findIndex((job) => job.message.id === message.id)
        if (held >= 0) {
          // Never started: it is dropped; the engine has settled it.
          this.#waiting.splice(held, 1)
          return
        }
        if (this.#leasing.delete(message.id)) {
          // Its body never began. Revoked or stopped: the engine has settled it; a time limit
          // that ran out while its lease was being stored ends it as it would the body.
          if (message.reason !== 'revoked' && message.reason !== 'shutdown') {
            this.#post({ type: 'outcome', id: message.id, outcome: { type: 'failure', error: encode(cancelError(message.id, message.reason)) }, hooks: false })
          }
          this.#next()
          return
        }
        const run = this.#runs.get(message.id)
        if (run === undefined) return
        if (!run.abort.aborted) run.abort.abort(cancelError(message.id, message.reason))
        // A hard time limit or a terminate that reaches a runtime (inline: no thread to kill)
        // ends the run for the engine, which forgets it, and a later run of its id may start.
        // Its body goes on until it returns: what it says from now on is no run's (a Celery
        // worker kills the process, so nothing of it comes after).
        if (message.reason === 'time-limit' || message.reason === 'terminated') {
          run.givenUp = true
          this.#runs.delete(message.id)
          this.#next()
        }
        return
      }
      case 'committed': {
        const run = this.#runs.get(message.id)
        run?.committed?.()
        return
      }
      case 'go': {
        const job = this.#leasing.get(message.id)
        if (job === undefined) return
        this.#leasing.delete(message.id)
        this.#begin(job)
        return
      }
      case 'rpc-reply': {
        const pending = this.#rpcs.get(message.requestId)
        if (pending === undefined) return
        this.#rpcs.delete(message.requestId)
        if (message.ok) pending.resolve(message.value)
        else pending.reject(decodeError(message.value))
        return
      }
    }
  }

  #next(): void {
    while (this.#waiting.length > 0 && this.#hasRoom()) this.#start(this.#waiting.shift()!)
  }

  /**
   * Whether a held run may start. A run waiting for a result does not count: the result may be
   * that of a run held here, which would otherwise never start (Celery's prefork deadlocks so).
   */
  #hasRoom(): boolean {
    let awaiting = 0
    if (this.#awaiting.size > 0) for (const id of this.#awaiting.keys()) if (this.#runs.has(id)) awaiting++
    return this.#runs.size + this.#leasing.size - awaiting < this.#concurrency
  }

  /** Counts a call of run `id` that waits for a result until `settled` (then the run may go on past the concurrency). */
  #awaitResult(id: string, settled: Promise<unknown>): void {
    this.#awaiting.set(id, (this.#awaiting.get(id) ?? 0) + 1)
    this.#next()
    const done = (): void => {
      const left = (this.#awaiting.get(id) ?? 1) - 1
      if (left === 0) this.#awaiting.delete(id)
      else this.#awaiting.set(id, left)
    }
    settled.then(done, done)
  }

  #start(job: RunJob): void {
    const { message } = job
    if (this.#reportStart && job.start !== 'on-arrival') {
      this.#post({ type: 'started', id: message.id })
      this.#flush?.()
      if (job.start === 'lease-first') {
        this.#leasing.set(message.id, job)
        return
      }
    }
    this.#begin(job)
  }

  #begin(job: RunJob): void {
    const { message } = job
    const task = this.#lookup(message.task)
    if (task === undefined) {
      const error = new NotRegistered(`Task '${message.task}' is not registered where it runs; register it in the task module`)
      this.#post({ type: 'outcome', id: message.id, outcome: { type: 'failure', error: encode(error) }, hooks: false })
      return
    }
    const run = new ActiveRun(this, task, job)
    // A plain task that returns at once has reported before trace returns: nothing can reach it
    // any more (no cancel, no RPC), so only runs still going are kept.
    if (trace(run, run) !== undefined && !run.reported) {
      run.kept = true
      this.#runs.set(message.id, run)
    }
  }

  /** @internal The run reports its outcome (see ActiveRun). */
  reportOutcome(run: ActiveRun, outcome: Outcome, hooks: boolean): Promise<void> | undefined {
    const id = run.message.id
    // Given up on: the engine ended it already; its hooks never run, as after a kill.
    if (run.givenUp) return hooks ? new Promise<void>(() => undefined) : undefined
    if (!hooks) {
      run.reported = true
      if (run.kept && this.#runs.get(id) === run) this.#runs.delete(id)
      this.#post({ type: 'outcome', id, outcome, hooks })
      this.#next()
      return undefined
    }
    const stored = new Promise<void>((resolve) => (run.committed = resolve))
    this.#post({ type: 'outcome', id, outcome, hooks })
    return stored
  }

  /** @internal The hooks after a run's outcome are done. */
  reportFinished(run: ActiveRun): void {
    if (run.givenUp) return
    const id = run.message.id
    this.#runs.delete(id)
    this.#post({ type: 'finished', id })
    this.#next()
  }

  /**
   * @internal What a bound `self` asks of the engine, as protocol messages. Once the run is given
   * up on, what would land on the books of its id (a state, a wait that parks it) is not asked:
   * a later run of the id may be there. Its logs and other calls (sends, locks, result reads,
   * revokes) still go, with its own message's context (FromRuntime `rpc.from`): no run of its id
   * parks on them, and its sends are its own message's children.
   */
  contextFor(run: ActiveRun): RunContext {
    const id = run.message.id
    return runContext(id, {
      post: (message) => {
        if (!run.givenUp || message.type === 'log') this.#post(message)
      },
      rpc: (call, signal) => {
        if (!run.givenUp) return this.#rpc(id, call, signal)
        if (PARKING_CALLS.has(call.type)) return Promise.reject(run.abort.signal.reason)
        const { message } = run
        return this.#rpc(id, call, signal, { id, rootId: message.rootId, headers: message.headers })
      },
      // The engine wakes a task waiting on it (a sleep, a result) when its signal is aborted (soft
      // limit, terminate): the wait then throws the abort's reason.
      checkAbort: () => {
        if (run.aborted) throw run.abort.signal.reason
      },
    })
  }

  /** Makes `call` for the run of `id`, or, given `from`, for a body of that id given up on. */
  #rpc(id: string, call: RpcCall, signal?: AbortSignal, from?: GivenUpSender): Promise<unknown> {
    const requestId = this.#nextRpc++
    const reply = new Promise((resolve, reject) => {
      this.#rpcs.set(requestId, { resolve: (value) => resolve(decode(value as Encoded)), reject })
      this.#post(from === undefined ? { type: 'rpc', id, requestId, call } : { type: 'rpc', id, requestId, call, from })
      // The task stopped waiting: the engine ends the wait (it no longer parks the task).
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.#rpcs.delete(requestId)) return
          const cancel: RpcCall = { type: 'wait.cancel', requestId }
          this.#post({ type: 'rpc', id, requestId: this.#nextRpc++, call: cancel, ...(from === undefined ? {} : { from }) })
          resolve(null)
        },
        { once: true },
      )
    })
    if (call.type === 'result.wait' || call.type === 'result.next') this.#awaitResult(id, reply)
    return reply
  }
}

/**
 * One run in a runtime: what the tracer reads, how it reports, and the abort and commit wait the
 * runtime keeps. One object per run, and its engine context only when a bound `self` needs it.
 */
class ActiveRun implements TraceInput, TraceReporter {
  readonly message: TaskMessage
  readonly hostname: string
  /** Resolves the wait of `hooks` once the engine says the outcome is stored. */
  committed: (() => void) | undefined = undefined
  /** Its outcome was reported with no hooks to follow: the run is over. */
  reported = false
  /** Kept in the runtime's runs (it went on after `trace` returned): a plain run that returned at once never is. */
  kept = false
  /** Ended by the engine while its body went on (a hard time limit or terminate inline): its outcome and states are not posted. */
  givenUp = false
  #context: RunContext | undefined = undefined
  #abort: LazyAbort | undefined = undefined

  constructor(
    readonly runtime: TaskRuntime,
    readonly task: Task<never, unknown>,
    job: RunJob,
  ) {
    this.message = job.message
    this.hostname = job.hostname
  }

  /** Made when first needed (a cancel, or `self.signal`): most runs never need it. */
  get abort(): LazyAbort {
    return (this.#abort ??= new LazyAbort())
  }

  /** Whether it was aborted, without making its abort. */
  get aborted(): boolean {
    return this.#abort?.aborted === true
  }

  context(): RunContext {
    return (this.#context ??= this.runtime.contextFor(this))
  }

  outcome(outcome: Outcome, hooks: boolean): Promise<void> | undefined {
    return this.runtime.reportOutcome(this, outcome, hooks)
  }

  finished(): void {
    this.runtime.reportFinished(this)
  }
}
