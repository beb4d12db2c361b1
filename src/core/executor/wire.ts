/**
 * What crosses a worker boundary (worker_threads, Web Workers), in a compact form. A structured
 * clone costs by the property, and it was the main thread's largest cost per task: a run's task
 * message has 25 fields, most at their usual value, and the worker reads a dozen of them. So a run
 * crosses as a tuple of what its runtime reads (`self.request`), the fields at their usual value
 * left out, and the two replies every run makes (`started`, a plain success) as tuples too. The
 * rest of the protocol, rare per task, crosses as its own objects. Encoded values (arguments,
 * results, errors) cross as they are: the serializer's forms are untouched.
 */
import type { Encoded } from '../model/json.js'
import { plainMessage } from '../model/message.js'
import type { TaskMessage } from '../model/message.js'
import type { FromRuntime, RunJob, RunStart, ToRuntime } from '../model/protocol.js'
import type { TaskProfile } from '../model/options.js'

/** The request fields a run carries only when they differ from their usual value (see `USUAL`). */
type RunRest = Partial<
  Pick<TaskMessage, 'headers' | 'priority' | 'eta' | 'expires' | 'retries' | 'parentId' | 'rootId' | 'groupId' | 'groupIndex' | 'chord' | 'redelivered'>
>

/** A run on its way to a worker: id, task, args, how it starts, hostname, queue, then the other fields not at their usual value (0: none). */
export type WireRun = readonly [id: string, task: string, args: Encoded[], start: RunStart, hostname: string, queue: string, rest: RunRest | 0]

/** A run's `started` (not `onArrival`, which a worker never says). */
type WireStarted = readonly [kind: typeof STARTED, id: string]
/** A run's success with no hooks to follow: the outcome of nearly every run. */
type WireSuccess = readonly [kind: typeof SUCCESS, id: string, value: Encoded]

const STARTED = 0
const SUCCESS = 1

/** What the engine sends a runtime, as it crosses to a worker: a run as a tuple, one each. */
export type WireToRuntime = WireRun | Exclude<ToRuntime, { type: 'run' }>

/** Pool -> worker: a batch. */
export type ToWorker = readonly WireToRuntime[]

/**
 * The version of this protocol, said in each worker's hello (and, by the Node pool, to its worker
 * in `workerData`). A pool and a worker entry of different celeriac builds need not speak the same
 * one: whichever side finds another fails the load at once, saying what to do, rather than runs
 * garbled or a hello never heard until `loadTimeout`. Raise it with any change of what crosses.
 */
export const WIRE_VERSION = 1

/**
 * Worker -> pool, once at start: the task module loaded (with the task names it registered), or
 * not; `wire` is the worker's {@link WIRE_VERSION} (absent in celeriac builds before it).
 */
type WorkerHello =
  | { readonly type: 'ready'; readonly wire: number; readonly tasks: ReadonlyArray<{ readonly name: string; readonly profile: TaskProfile }> }
  | { readonly type: 'init-failed'; readonly wire: number; readonly error: Encoded }

/** What a runtime reports, as it crosses to the pool. */
export type WireFromRuntime = WireStarted | WireSuccess | FromRuntime

/** Worker -> pool: the hello, then batches of what its runtime reports. */
export type FromWorker = WorkerHello | readonly WireFromRuntime[]

/** Every field at its usual value (`rootId`'s is the run's own id, compared apart). */
const USUAL = plainMessage('', '', [], '')

/** `job` as it crosses to a worker, starting as `start`. */
export function wireRun(job: RunJob, start: RunStart = job.start): WireRun {
  const m = job.message
  let rest: RunRest | undefined
  // Written out, not looped over: this runs once per task on the main thread.
  if (m.headers !== USUAL.headers) (rest ??= {}).headers = m.headers
  if (m.priority !== USUAL.priority) (rest ??= {}).priority = m.priority
  if (m.eta !== USUAL.eta) (rest ??= {}).eta = m.eta
  if (m.expires !== USUAL.expires) (rest ??= {}).expires = m.expires
  if (m.retries !== USUAL.retries) (rest ??= {}).retries = m.retries
  if (m.parentId !== USUAL.parentId) (rest ??= {}).parentId = m.parentId
  if (m.rootId !== m.id) (rest ??= {}).rootId = m.rootId
  if (m.groupId !== USUAL.groupId) (rest ??= {}).groupId = m.groupId
  if (m.groupIndex !== USUAL.groupIndex) (rest ??= {}).groupIndex = m.groupIndex
  if (m.chord !== USUAL.chord) (rest ??= {}).chord = m.chord
  if (m.redelivered !== USUAL.redelivered) (rest ??= {}).redelivered = m.redelivered
  return [m.id, m.task, m.args, start, job.hostname, m.queue, rest ?? 0]
}

/**
 * The job a worker's runtime runs, from its wire form: the fields it reads as sent, the ones the
 * engine alone uses (chain, links, time limits, acks) at neutral values.
 */
export function runFromWire(wire: WireRun): RunJob {
  const [id, task, args, start, hostname, queue, rest] = wire
  const message = plainMessage(id, task, args, queue)
  if (rest !== 0) {
    // As `rest.field ?? usual`: a field sent as null or undefined keeps its usual value.
    const fields = message as Record<keyof RunRest, unknown>
    for (const key of Object.keys(rest) as (keyof RunRest)[]) {
      const value = rest[key]
      if (value != null) fields[key] = value
    }
  }
  return { message, hostname, start }
}

/** What the engine sends a runtime, from its wire form. */
export function toRuntimeFromWire(item: WireToRuntime): ToRuntime {
  return Array.isArray(item) ? { type: 'run', jobs: [runFromWire(item as WireRun)] } : (item as ToRuntime)
}

/** What a runtime reports, as it crosses to the pool. */
export function wireFromRuntime(message: FromRuntime): WireFromRuntime {
  if (message.type === 'outcome') return !message.hooks && message.outcome.type === 'success' ? [SUCCESS, message.id, message.outcome.value] : message
  if (message.type === 'started' && message.onArrival === undefined) return [STARTED, message.id]
  return message
}

/** The task id a report in tuple form (`started`, a plain success) carries; undefined for the other reports. */
export function wireReportId(item: WireFromRuntime): string | undefined {
  return Array.isArray(item) ? (item as WireStarted | WireSuccess)[1] : undefined
}

/**
 * A runtime's report, from its wire form. `id`, for a report in tuple form: the id to give it in
 * place of the copy that crossed (the pool's own string, whose hash is already computed: a copy
 * is hashed again at each Map it is looked up in).
 */
export function fromRuntimeWire(item: WireFromRuntime, id?: string): FromRuntime {
  if (!Array.isArray(item)) return item as FromRuntime
  const wire = item as WireStarted | WireSuccess
  const runId = id ?? wire[1]
  return wire[0] === STARTED ? { type: 'started', id: runId } : { type: 'outcome', id: runId, outcome: { type: 'success', value: wire[2] }, hooks: false }
}
