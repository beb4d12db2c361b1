/**
 * The pool's books: which worker holds which run, and how many each holds and has started. One
 * map for the pool: a Map or Set per worker that empties and fills at every task reallocates its
 * table each time. Environment-neutral.
 */
import type { FromRuntime, RunJob } from '../model/protocol.js'
import type { TaskProfile } from '../model/options.js'
import { WorkerLostError } from '../model/errors.js'
import { encodeError } from '../serializer/encode.js'
import type { PoolWorker } from './pool-worker.js'
import type { WireToRuntime } from './wire.js'

/** How many of a worker's runs, in the order sent, {@link HeldRuns.sent} compares before giving up. */
const SENT_SCAN = 8

/** One worker of the pool, as the pool sees it. */
export interface Slot {
  readonly worker: PoolWorker
  ready: boolean
  gone: boolean
  /** How many runs it holds or runs (each in the pool's `HeldRuns`). */
  jobs: number
  /** Of those, how many started. */
  started: number
  /**
   * Calls its runs made that wait for a result (`${taskId} ${requestId}` -> task id): such a run
   * does not hold a task slot (the worker's runtime starts a held run meanwhile).
   */
  readonly awaiting: Map<string, string>
  /**
   * The runs it holds, in the order they were sent: the order it starts them in, and, for tasks
   * that return at once, the order their reports come back in (see `HeldRuns.sent`).
   */
  readonly order: HeldRun[]
  outbox: WireToRuntime[]
  /** A flush is due this tick (something in the outbox cannot wait). */
  soon: boolean
  /** Whether the pool is ending this worker on purpose. */
  terminating: boolean
}

/** A slot for `worker`, loading, holding nothing. */
export function newSlot(worker: PoolWorker): Slot {
  return { worker, ready: false, gone: false, jobs: 0, started: 0, awaiting: new Map(), order: [], outbox: [], soon: false, terminating: false }
}

/** A run a worker holds or runs. */
export interface HeldRun {
  readonly job: RunJob
  readonly slot: Slot
  started: boolean
}

/** Every run held or running in a worker, by task id, kept in step with each slot's counts. */
export class HeldRuns {
  readonly #runs = new Map<string, HeldRun>()

  get(id: string): HeldRun | undefined {
    return this.#runs.get(id)
  }

  /** `job` goes to `slot`, started already when `started` (an idle worker starts it on arrival). */
  add(job: RunJob, slot: Slot, started: boolean): void {
    slot.jobs++
    if (started) slot.started++
    const run = { job, slot, started }
    this.#runs.set(job.message.id, run)
    slot.order.push(run)
  }

  /**
   * The run `slot` holds under `id`, a copy of its id that crossed from the worker, found without
   * hashing the copy (a Map lookup would): its own id, from the pool, is the one to pass on. The
   * runs are compared in the order sent, so the first one usually matches, and ids of the same
   * length differ in their first characters. Only the first {@link SENT_SCAN} are compared (a
   * worker holding hundreds, with outcomes out of order, would pay more than the hash saves):
   * undefined past them, and when the worker no longer holds it; the copy then serves.
   */
  sent(slot: Slot, id: string): HeldRun | undefined {
    const order = slot.order
    const end = Math.min(order.length, SENT_SCAN)
    for (let i = 0; i < end; i++) if (order[i]!.job.message.id === id) return order[i]
    return undefined
  }

  /** `run` counts as started (told by its worker, or starting on arrival). */
  start(run: HeldRun): void {
    run.started = true
    run.slot.started++
  }

  /** What a report of `slot`'s worker changes in the books, before the engine hears it. */
  heard(slot: Slot, m: FromRuntime): void {
    if (m.type === 'started') this.heardStarted(slot, m.id)
    else if (m.type === 'rpc' && (m.call.type === 'result.wait' || m.call.type === 'result.next')) slot.awaiting.set(`${m.id} ${String(m.requestId)}`, m.id)
    else if (m.type === 'outcome' && !m.hooks) this.release(slot, m.id)
    else if (m.type === 'finished') this.release(slot, m.id)
  }

  /** The worker says it started a run it holds; a word for a run it no longer holds is ignored. */
  heardStarted(slot: Slot, id: string): void {
    const run = this.#runs.get(id)
    if (run !== undefined && run.slot === slot && !run.started) this.start(run)
  }

  /** Run `id` left `slot` (its outcome came, or it was dropped): the worker may idle again. */
  release(slot: Slot, id: string): void {
    const run = this.#runs.get(id)
    if (run !== undefined && run.slot === slot) {
      this.#runs.delete(id)
      const order = slot.order
      if (order[0] === run) order.shift()
      else {
        const at = order.indexOf(run)
        if (at >= 0) order.splice(at, 1)
      }
      if (run.started) slot.started--
      if (--slot.jobs === 0 && !slot.gone) slot.worker.hold?.(false)
    }
    if (slot.awaiting.size > 0) for (const [key, task] of slot.awaiting) if (task === id) slot.awaiting.delete(key)
  }

  /** How many started runs of `slot` wait for a result. */
  awaitingRuns(slot: Slot): number {
    if (slot.awaiting.size === 0) return 0
    let n = 0
    for (const id of new Set(slot.awaiting.values())) if (this.#runs.get(id)?.started === true) n++
    return n
  }

  /** Takes every run of a lost `slot` off the books, and gives them back. */
  takeAll(slot: Slot): HeldRun[] {
    const taken: HeldRun[] = []
    for (const [id, run] of this.#runs) {
      if (run.slot !== slot) continue
      this.#runs.delete(id)
      taken.push(run)
    }
    slot.order.length = 0
    slot.jobs = 0
    slot.started = 0
    slot.awaiting.clear()
    return taken
  }
}

/**
 * What the engine hears of `run` when its worker is gone: held and never started, it goes back to
 * its queue; started, it fails with WorkerLostError (or is requeued: acksLate with
 * `rejectOnWorkerLost`, as Celery's).
 */
export function lostOutcome(run: HeldRun, slot: Slot, profile: TaskProfile | undefined, error: Error | undefined): FromRuntime {
  const { message } = run.job
  const id = message.id
  if (!run.started)
    return { type: 'outcome', id, hooks: false, outcome: { type: 'reject', requeue: true, error: encodeError(new WorkerLostError('requeued')) } }
  const lost = new WorkerLostError(
    `The worker running ${message.task}[${id}] ${slot.terminating ? 'was terminated' : 'died'}${error === undefined ? '' : `: ${error.message}`}`,
  )
  const requeue = message.acksLate && (profile?.rejectOnWorkerLost ?? false)
  const encoded = encodeError(lost)
  return { type: 'outcome', id, hooks: false, outcome: requeue ? { type: 'reject', requeue: true, error: encoded } : { type: 'failure', error: encoded } }
}
