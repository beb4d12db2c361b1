/**
 * What crosses a worker boundary (worker_threads, Web Workers), in a compact form. A structured
 * clone costs by the property, and it was the main thread's largest cost per task: a run's task
 * message has 25 fields, most at their usual value, and the worker reads a dozen of them. So a run
 * crosses as what its runtime reads (`self.request`), the fields at their usual value left out,
 * inline in one flat array a post, and the two replies every run makes (`started`, a plain
 * success) inline in the worker's flat array too. The
 * rest of the protocol, rare per task, crosses as its own objects. Encoded values (arguments,
 * results, errors) cross as they are: the serializer's forms are untouched.
 */
import type { Encoded } from '../model/json.js'
import { ConfigError } from '../model/errors.js'
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

/** Opens a run's `started` in {@link WireReports} (not `onArrival`, which a worker never says). */
const STARTED = 0
/** Opens a run's success with no hooks to follow, the outcome of nearly every run, in {@link WireReports}. */
const SUCCESS = 1

/** What the engine sends a runtime, as the pool holds it for a worker: a run as a tuple, one each. */
export type WireToRuntime = WireRun | Exclude<ToRuntime, { type: 'run' }>

/**
 * Pool -> worker: a batch, flat ({@link flatBatch}): each run as its seven {@link WireRun} fields
 * in a row, its task, start, hostname and queue as {@link SAME} when they equal the run's before it
 * in the batch; any other message as its own object. Flat, not a tuple a run: a structured clone
 * pays for every array and string it copies, on both threads, and a batch's runs are mostly of
 * one task, from one host, to one queue (NOTES.md, "Worker threads at once, thr9").
 */
export type ToWorker = ReadonlyArray<unknown>

/** In a flat batch, a run's task, start, hostname or queue that is the run's before it (the fields are strings). */
const SAME = 0

/**
 * The version of this protocol, said in each worker's hello (and, by the Node pool, to its worker
 * in `workerData`). A pool and a worker entry of different celeriac builds need not speak the same
 * one: whichever side finds another fails the load at once, saying what to do, rather than runs
 * garbled or a hello never heard until `loadTimeout`. Raise it with any change of what crosses.
 */
export const WIRE_VERSION = 2

/** Whether a worker's `first` message is a hello (`ready` or `init-failed`) of protocol `version`. */
export function isHelloOf(first: unknown, version: number): boolean {
  return typeof first === 'object' && first !== null && !Array.isArray(first) && (first as { wire?: unknown }).wire === version
}

/**
 * The error for a worker whose first message is not a hello of {@link WIRE_VERSION}: a hello of
 * another version (or none: before versions were said), or something else its script posted
 * first; `fix`, what to do (the executor's own words).
 */
export function otherWireError(executor: string, moduleName: string, first: unknown, fix: string): ConfigError {
  const hello = typeof first === 'object' && first !== null && !Array.isArray(first) && typeof (first as { type?: unknown }).type === 'string'
  if (!hello) {
    const posted =
      typeof first === 'string'
        ? JSON.stringify(first.slice(0, 40))
        : typeof first === 'object' && first !== null
          ? 'a message that is not a hello'
          : String(first)
    return new ConfigError(
      `${executor}: a worker loading ${moduleName} posted ${posted} before celeriac's hello: its script must post nothing before celeriac's worker entry (or serveWorker) says the hello, and that entry must be this celeriac's; ${fix}`,
    )
  }
  const theirs = (first as { wire?: unknown }).wire
  const said = typeof theirs === 'number' ? `version ${String(theirs)}` : 'a version from before versions were said'
  return new ConfigError(
    `${executor}: a worker loading ${moduleName} speaks ${said} of celeriac's worker protocol, and this celeriac speaks version ${String(WIRE_VERSION)}: its worker entry comes from another celeriac (another version or build); ${fix}`,
  )
}

/**
 * Worker -> pool, once at start: the task module loaded (with the task names it registered), or
 * not; `wire` is the worker's {@link WIRE_VERSION} (absent in celeriac builds before it).
 */
type WorkerHello =
  | { readonly type: 'ready'; readonly wire: number; readonly tasks: ReadonlyArray<{ readonly name: string; readonly profile: TaskProfile }> }
  | { readonly type: 'init-failed'; readonly wire: number; readonly error: Encoded }

/**
 * What a runtime reports in one post to the pool, flat: a `started` as `STARTED, id`, a plain
 * success as `SUCCESS, id, value`, any other report as its own object. A report begins with a
 * number or is an object, so the reader knows where each one starts. Flat, not a tuple each: a
 * structured clone pays for every array it copies, on both threads, and a worker posts about
 * once a task (NOTES.md, "Worker threads at once, thr8").
 */
export type WireReports = ReadonlyArray<Encoded | FromRuntime>

/** Worker -> pool: the hello, then batches of what its runtime reports. */
export type FromWorker = WorkerHello | WireReports

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
  return runJob(wire[0], wire[1], wire[2], wire[3], wire[4], wire[5], wire[6])
}

function runJob(id: string, task: string, args: Encoded[], start: RunStart, hostname: string, queue: string, rest: RunRest | 0): RunJob {
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

/** The pool's `items` for a worker, as one post (see {@link ToWorker}). */
export function flatBatch(items: readonly WireToRuntime[]): unknown[] {
  const out: unknown[] = []
  let task: string | undefined
  let start: RunStart | undefined
  let hostname: string | undefined
  let queue: string | undefined
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (!Array.isArray(item)) {
      out.push(item)
      continue
    }
    const run = item as WireRun
    out.push(
      run[0],
      run[1] === task ? SAME : (task = run[1]),
      run[2],
      run[3] === start ? SAME : (start = run[3]),
      run[4] === hostname ? SAME : (hostname = run[4]),
      run[5] === queue ? SAME : (queue = run[5]),
      run[6],
    )
  }
  return out
}

/** Whether a worker's batch holds one message (a run is seven entries of it, see {@link ToWorker}). */
export function singleMessage(batch: ToWorker): boolean {
  return batch.length === 1 || (batch.length === 7 && typeof batch[0] === 'string')
}

/**
 * Gives each message of a worker's batch ({@link ToWorker}) to `handle`, in order, a run as a
 * `run` of one job. A run begins with its id, a string; any other message is an object.
 */
export function readBatch(batch: ToWorker, handle: (message: ToRuntime) => void): void {
  let task = ''
  let start: RunStart = 'report'
  let hostname = ''
  let queue = ''
  for (let i = 0; i < batch.length; ) {
    const item = batch[i]
    if (typeof item !== 'string') {
      handle(item as ToRuntime)
      i++
      continue
    }
    if (batch[i + 1] !== SAME) task = batch[i + 1] as string
    if (batch[i + 3] !== SAME) start = batch[i + 3] as RunStart
    if (batch[i + 4] !== SAME) hostname = batch[i + 4] as string
    if (batch[i + 5] !== SAME) queue = batch[i + 5] as string
    handle({ type: 'run', jobs: [runJob(item, task, batch[i + 2] as Encoded[], start, hostname, queue, batch[i + 6] as RunRest | 0)] })
    i += 7
  }
}

/** Appends `message` to what a worker posts next (see {@link WireReports}). */
export function pushReport(reports: Array<Encoded | FromRuntime>, message: FromRuntime): void {
  if (message.type === 'outcome') {
    if (!message.hooks && message.outcome.type === 'success') reports.push(SUCCESS, message.id, message.outcome.value)
    else reports.push(message)
  } else if (message.type === 'started' && message.onArrival === undefined) reports.push(STARTED, message.id)
  else reports.push(message)
}

/**
 * Gives each report of a worker's post to `report`, in order. `own(copy)`, for a run's id that
 * crossed in a `started` or a plain success: the pool's own string for it (whose hash is already
 * computed: a copy is hashed again at each Map it is looked up in), or undefined, and the copy
 * serves. It is asked for each report just before that report is given.
 */
export function readReports(reports: WireReports, own: (copy: string) => string | undefined, report: (message: FromRuntime) => void): void {
  for (let i = 0; i < reports.length; ) {
    const item = reports[i]
    if (item === STARTED) {
      const copy = reports[i + 1] as string
      report({ type: 'started', id: own(copy) ?? copy })
      i += 2
    } else if (item === SUCCESS) {
      const copy = reports[i + 1] as string
      report({ type: 'outcome', id: own(copy) ?? copy, outcome: { type: 'success', value: reports[i + 2] as Encoded }, hooks: false })
      i += 3
    } else {
      report(item as FromRuntime)
      i++
    }
  }
}
