/**
 * A pool executor over workers of any kind (Node worker_threads, browser Web Workers): spawns
 * `size` workers, waits for each one's hello, spreads runs over them, batches messages per tick,
 * routes cancels and replies to the worker that runs the task, terminates a worker to stop a
 * task for real, and replaces a worker that dies, failing its tasks with WorkerLostError (or
 * re-queueing them under acksLate + rejectOnWorkerLost). Loading workers, retried with backoff,
 * is the WorkerLoader's (`pool-loader.ts`); which worker holds which run, the books
 * (`pool-runs.ts`). Environment-neutral.
 */
import { ConfigError, WorkerLoadError } from '../model/errors.js'
import type { Executor, ExecutorHost } from './types.js'
import { loadSchedule } from './load-options.js'
import type { PoolOptions, PoolWorker } from './pool-worker.js'
import { HeldRuns, lostOutcome, newSlot } from './pool-runs.js'
import type { Slot } from './pool-runs.js'
import { WorkerLoader } from './pool-loader.js'
import type { FromRuntime, RunJob } from '../model/protocol.js'
import { WIRE_VERSION, flatBatch, isHelloOf, otherWireError, readReports, wireRun } from './wire.js'
import type { FromWorker, WireReports, WireRun, WireToRuntime } from './wire.js'
import { encodeError } from '../serializer/encode.js'
import { decodeError } from '../serializer/decode.js'
import type { TaskProfile } from '../model/options.js'
import { microtask } from '../time/microtask.js'

/** What to do about a worker entry of another celeriac, when the executor says nothing of its own. */
const DEFAULT_WIRE_FIX = 'use the worker entry of the celeriac this app runs'

/** Builds an Executor over a pool of workers. */
export function poolExecutor(options: PoolOptions): Executor & { readonly workers: number; readonly replaced: number } {
  if (!Number.isInteger(options.size) || options.size < 1)
    throw new ConfigError(`${options.name}: size must be a whole number >= 1, got ${String(options.size)}`)
  if (!Number.isInteger(options.prefetch) || options.prefetch < 1)
    throw new ConfigError(`${options.name}: prefetch must be a whole number >= 1, got ${String(options.prefetch)}`)
  if (!Number.isInteger(options.tasksPerWorker) || options.tasksPerWorker < 1) {
    throw new ConfigError(`${options.name}: tasksPerWorker must be a whole number >= 1, got ${String(options.tasksPerWorker)}`)
  }
  let host: ExecutorHost | undefined
  let stopping = false
  let registered = new Map<string, TaskProfile>()
  let replaced = 0
  const slots = new Set<Slot>()
  /** Workers loading the task module (not in `slots` until their hello). */
  const loadingSlots = new Set<Slot>()
  const held = new HeldRuns()
  /** Runs waiting for a worker that is starting (after a crash). */
  const backlog: RunJob[] = []
  const schedule = loadSchedule(options.name, options)
  const live = (): number => {
    let n = 0
    for (const slot of slots) if (slot.ready && !slot.gone && !slot.terminating) n++
    return n
  }
  /** No worker loaded within loadTimeout: the runs that wait for one fail with WorkerLoadError. */
  const failBacklog = (): void => {
    const error = loader.expiredError()
    if (error === undefined) return
    for (const job of backlog.splice(0)) failLoad(job, error)
    loader.waitingChanged()
  }
  const failLoad = (job: RunJob, error: WorkerLoadError): void => {
    host?.receive({ type: 'outcome', id: job.message.id, hooks: false, outcome: { type: 'failure', error: encodeError(error) } })
  }
  const loader = new WorkerLoader(options.name, options.moduleName, schedule, {
    load: async () => {
      try {
        await spawn()
      } catch (error) {
        if (!stopping && startedOnce) logLoadFailure(error)
        throw error
      }
    },
    live,
    waiting: () => backlog.length > 0,
    expired: failBacklog,
  })
  /** Whether start() has resolved once: failed loads before that are start()'s to report. */
  let startedOnce = false
  const logLoadFailure = (error: unknown): void => {
    host?.receive({ type: 'log', id: '', level: 'error', text: `${options.name}: ${error instanceof Error ? error.message : String(error)}` })
  }

  const flush = (slot: Slot): void => {
    if (slot.outbox.length === 0 || slot.gone) return
    const batch = slot.outbox
    slot.outbox = []
    // A worker being ended (its task's time limit, terminate) may still be running it.
    if (slot.started === 0 && !slot.terminating) startOnArrival(slot, batch)
    slot.worker.post(flatBatch(batch))
  }
  /**
   * Runs that waited for a flush (see `dispatch`) go to a worker that may have finished all it
   * held meanwhile (under load, the outcomes that made room for them usually arrive together):
   * then the first of them starts on arrival, as a run sent to an idle worker does, and the
   * worker need not say so (one message fewer back per batch).
   */
  const startOnArrival = (slot: Slot, batch: WireToRuntime[]): void => {
    let first = -1
    let runs = 0
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!
      if (!Array.isArray(item) || held.get((item as WireRun)[0])?.slot !== slot) continue
      if (first < 0) first = i
      runs++
    }
    // Some run it holds is not in this batch: it is not idle.
    if (first < 0 || runs !== slot.jobs) return
    const id = (batch[first] as WireRun)[0]
    const run = held.get(id)!
    const job = run.job
    held.start(run)
    if (job.start === 'report') {
      batch[first] = wireRun(job, 'on-arrival')
      host?.receive({ type: 'started', id })
    } else host?.receive({ type: 'started', id, onArrival: true })
  }
  /** Takes run `id` out of what waits to be posted to `slot`; false when it is not there (posted already). */
  const unsend = (slot: Slot, id: string): boolean => {
    const index = slot.outbox.findIndex((item) => Array.isArray(item) && (item as WireRun)[0] === id)
    if (index < 0) return false
    slot.outbox.splice(index, 1)
    return true
  }
  /** Workers whose runs go at the end of the `run` post being handled (see `post`); undefined outside one. */
  let due: Slot[] | undefined
  /** Queues `message` for the worker: posted within the tick when `soon`, else after arrivals. */
  const send = (slot: Slot, message: WireToRuntime, soon = true): void => {
    const waiting = slot.outbox.length > 0
    slot.outbox.push(message)
    if (soon && !slot.soon) {
      slot.soon = true
      if (due !== undefined) due.push(slot)
      else {
        microtask(() => {
          slot.soon = false
          flush(slot)
        })
      }
    } else if (!soon && !waiting) {
      // Something already waiting has a flush on its way (this tick or after arrivals).
      ;(options.afterArrivals ?? microtask)(() => flush(slot))
    }
  }

  const lost = (slot: Slot, error: Error | undefined): void => {
    if (slot.gone) return
    slot.gone = true
    slots.delete(slot)
    for (const run of held.takeAll(slot)) host?.receive(lostOutcome(run, slot, registered.get(run.job.message.task), error))
    if (!stopping) {
      replaced++
      loader.lost()
    }
  }

  const spawn = (): Promise<Slot> =>
    new Promise<Slot>((resolve, reject) => {
      let slot: Slot | undefined
      let started = false
      let hung: ReturnType<typeof setTimeout> | undefined
      const failed = (message: string, cause?: unknown): void => {
        started = true
        if (slot !== undefined) {
          slot.gone = true
          loadingSlots.delete(slot)
        }
        clearTimeout(hung)
        reject(new WorkerLoadError(message, options.moduleName, cause === undefined ? undefined : { cause }))
      }
      /** A `started` or plain success is passed on under the pool's own id string. */
      const ownId = (copy: string): string | undefined => held.sent(slot!, copy)?.job.message.id
      const report = (m: FromRuntime): void => {
        held.heard(slot!, m)
        host?.receive(m)
      }
      let worker: PoolWorker
      try {
        worker = options.spawn({
          message(message) {
            if (slot === undefined) return
            if (!started && !isHelloOf(message, WIRE_VERSION)) {
              // Not this celeriac's hello: the worker entry is another celeriac's (see WIRE_VERSION),
              // or the worker's script posted something of its own first.
              if (slot.gone) return
              const error = otherWireError(options.name, options.moduleName, message, options.otherWire ?? DEFAULT_WIRE_FIX)
              failed(error.message, error)
              void slot.worker.terminate()
              return
            }
            if (!Array.isArray(message)) {
              const hello = message as Exclude<FromWorker, readonly unknown[]>
              if (started || slot.gone) return
              if (hello.type === 'ready') {
                registered = new Map(hello.tasks.map((t) => [t.name, t.profile]))
                slot.ready = true
                started = true
                clearTimeout(hung)
                loadingSlots.delete(slot)
                slots.add(slot)
                if (slot.jobs === 0) slot.worker.hold?.(false)
                resolve(slot)
                drainBacklog()
              } else {
                const cause = decodeError(hello.error)
                failed(cause.message, cause)
                void slot.worker.terminate()
              }
              return
            }
            readReports(message as WireReports, ownId, report)
          },
          exit(error) {
            if (slot === undefined) return
            if (!started) {
              failed(`${options.name}: a worker exited before loading ${options.moduleName}${error === undefined ? '' : `: ${error.message}`}`, error)
              return
            }
            lost(slot, error)
          },
        })
      } catch (error) {
        failed(`${options.name}: could not start a worker for ${options.moduleName}: ${error instanceof Error ? error.message : String(error)}`, error)
        return
      }
      slot = newSlot(worker)
      loadingSlots.add(slot)
      // Real time on purpose: a load is the process's own I/O, which no engine clock measures.
      if (Number.isFinite(schedule.loadTimeout)) {
        hung = setTimeout(() => {
          if (started) return
          failed(`${options.name}: a worker did not load ${options.moduleName} within loadTimeout (${String(schedule.loadTimeout)} ms)`)
          void worker.terminate()
        }, schedule.loadTimeout)
      }
    })

  const perWorker = options.tasksPerWorker * options.prefetch

  const pick = (): Slot | undefined => {
    let best: Slot | undefined
    for (const slot of slots) {
      if (!slot.ready || slot.gone || slot.terminating || slot.jobs >= perWorker) continue
      if (best === undefined || slot.jobs < best.jobs) best = slot
    }
    return best
  }

  const dispatch = (job: RunJob): void => {
    const slot = pick()
    if (slot === undefined) {
      const error = loader.expiredError()
      if (error !== undefined) return failLoad(job, error)
      backlog.push(job)
      if (backlog.length === 1) loader.waitingChanged()
      return
    }
    const idle = slot.jobs === 0
    if (idle) slot.worker.hold?.(true)
    held.add(job, slot, idle)
    // A worker that holds runs has its next one to go on with: this one can wait for the others
    // the arriving outcomes make room for, and go with them.
    if (!idle) return send(slot, wireRun(job), false)
    // An idle worker starts it on arrival: it counts as started now (its limits are armed, a
    // loss of the worker is its loss), and the worker need not say so, unless the engine leases
    // a run when it starts: the lease waits for the worker's word (RunStart 'record', 'lease-first').
    if (job.start === 'report') {
      send(slot, wireRun(job, 'on-arrival'))
      host?.receive({ type: 'started', id: job.message.id })
    } else {
      send(slot, wireRun(job))
      host?.receive({ type: 'started', id: job.message.id, onArrival: true })
    }
  }

  const drainBacklog = (): void => {
    if (backlog.length === 0) return
    while (backlog.length > 0 && pick() !== undefined) dispatch(backlog.shift()!)
    if (backlog.length === 0) loader.waitingChanged()
  }

  return {
    name: options.name,
    capacity: options.size * options.tasksPerWorker * options.prefetch,
    canTerminate: true,
    reportsStart: true,
    startable() {
      if (backlog.length > 0 && pick() !== undefined) return true
      for (const slot of slots) {
        if (slot.gone || slot.terminating) continue
        if (slot.jobs > slot.started && slot.started - held.awaitingRuns(slot) < options.tasksPerWorker) return true
      }
      return false
    },
    get workers() {
      return live()
    },
    get replaced() {
      return replaced
    },
    health: () => loader.health(options.size, replaced),
    async start(h) {
      host = h
      stopping = false
      startedOnce = false
      replaced = 0
      // Celery's worker exits at once when it cannot import the app; so does start() when no
      // worker loads, with a ConfigError (a module that cannot load at start is a deploy error).
      // Workers that fail while others load are retried in the background.
      const loads = await loader.start(h.clock, (work) => h.hold(work), options.size)
      if (!loads.some((r) => r.status === 'fulfilled')) {
        stopping = true
        loader.stop()
        const failed = loads.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error
        throw failed.cause instanceof ConfigError ? failed.cause : new ConfigError(failed.message)
      }
      startedOnce = true
      for (const load of loads) if (load.status === 'rejected') logLoadFailure(load.reason)
    },
    post(message) {
      switch (message.type) {
        case 'run': {
          // The runs an idle worker starts go at the end of this post, not a turn later: the
          // engine's bookkeeping after the post (the waiting get(), ...) overlaps the worker's run.
          const posting: Slot[] = (due = [])
          try {
            for (const job of message.jobs) dispatch(job)
          } finally {
            // Even when the engine threw hearing a start: a slot left `soon` would hold its runs.
            due = undefined
            for (const slot of posting) {
              slot.soon = false
              flush(slot)
            }
          }
          return
        }
        case 'cancel': {
          const run = held.get(message.id)
          if (run !== undefined && (message.reason === 'revoked' || message.reason === 'shutdown') && !run.started) {
            // Held, not started: the worker drops it, or never gets it if it has not gone yet (an
            // idle worker would start it ahead of the cancel behind it, and startOnArrival would
            // count the run after it as the one started).
            held.release(run.slot, message.id)
            if (!unsend(run.slot, message.id)) send(run.slot, message)
            return
          }
          const slot = run?.slot
          if (slot === undefined) {
            const index = backlog.findIndex((j) => j.message.id === message.id)
            if (index >= 0) backlog.splice(index, 1)
            if (backlog.length === 0) loader.waitingChanged()
            return
          }
          if (message.reason === 'terminated' || message.reason === 'time-limit') {
            // Only killing the worker stops a synchronous loop; its other tasks are lost with it.
            slot.terminating = true
            held.release(slot, message.id)
            void Promise.resolve(slot.worker.terminate()).then(() => lost(slot, undefined))
            return
          }
          send(slot, message)
          return
        }
        default: {
          const slot = held.get(message.id)?.slot
          if (slot === undefined) return
          if (message.type === 'rpc-reply' && slot.awaiting.size > 0) slot.awaiting.delete(`${message.id} ${String(message.requestId)}`)
          send(slot, message)
        }
      }
    },
    registered: () => registered,
    async stop() {
      stopping = true
      loader.stop()
      const all = [...slots, ...loadingSlots]
      slots.clear()
      await Promise.all(
        all.map(async (slot) => {
          const idle = slot.ready && !slot.gone && !slot.terminating && slot.jobs === 0
          slot.gone = true
          await (idle && slot.worker.retire !== undefined ? slot.worker.retire() : slot.worker.terminate())
        }),
      )
    },
  }
}
