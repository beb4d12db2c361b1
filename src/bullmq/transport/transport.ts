import { DelayedError, type IQueueBackend, type Job, Queue, Worker } from 'bullmq'
import { StorageError } from '../../core/model/errors.js'
import { uuid4 } from '../../core/model/ids.js'
import type { TaskMessage } from '../../core/model/message.js'
import type { Delivery, RemoteRunEvent, Transport, TransportHost, TransportSchedules } from '../../core/engine/transport.js'
import type { Storage } from '../../storage/types.js'
import { storeOf } from '../factory-store.js'
import type { Store } from '../store.js'
import { deliveryOf, type JobData } from './delivery.js'
import { toJobId } from './job-id.js'
import { jobOptions } from './job-options.js'
import { BullmqSchedules, purgeAround, slotOf } from './schedules.js'
import type { ResolvedTransportOptions } from './options.js'
import { RunEventReaders } from './run-events.js'

// Typed on the backend seam, not on BullMQ's default (Redis) backend class.
type Consumer = Worker<JobData, unknown, string, IQueueBackend>
type Admin = Queue<JobData, unknown, string, JobData, unknown, string, IQueueBackend>
/** What one Queue.addBulk takes. */
type JobsOf = Parameters<Admin['addBulk']>[0]

/** The states of a job that has not been delivered yet. */
const WAITING: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'delayed', 'paused'])
/** The states of a job that ran and is kept (for its id's dedupe). */
const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed'])

/** One listened queue: its Worker, and how many of its deliveries are not settled yet. */
interface Listener {
  readonly worker: Consumer
  readonly concurrency: number
  held: number
  /** Paused by the app (`pause`): a job its Worker still takes goes back to wait. */
  paused: boolean
}

/** Puts a job a paused Worker took back to wait, untouched; the DelayedError tells the Worker it moved. */
async function backToWait(job: Job<JobData>, token: string): Promise<never> {
  await job.moveToWait(token)
  throw new DelayedError()
}

/**
 * A Transport on BullMQ's public classes: one Queue per queue adds the messages of a call for
 * it (one addBulk), one Worker per listened queue delivers. See NOTES.md ("BullMQ
 * transport") for the mapping.
 */
export class BullmqTransport implements Transport {
  readonly name = 'bullmq'
  readonly store: Storage
  readonly #options: ResolvedTransportOptions
  #host: TransportHost | undefined
  readonly #consumers = new Map<string, Listener>()
  /** Queues this handle added to or listened on: what `purge(undefined)` drops. */
  readonly #queues = new Map<string, Admin | undefined>()
  /** Settles on their way to the broker: close waits for them, so an ack is never lost. */
  readonly #settling = new Set<Promise<unknown>>()
  #closed = false
  /** The in-process queues under `bullmqBackend()` on a virtual clock (see isQuiet); else undefined. */
  readonly #memory: Store | undefined
  #recheck: ReturnType<typeof setTimeout> | undefined
  /** This handle among the app's: its run reports carry it, and its own are not heard back. */
  readonly #self = uuid4()
  readonly #runEvents: RunEventReaders
  /** `app.schedules` on BullMQ's job schedulers (./schedules.ts). */
  readonly schedules: TransportSchedules

  constructor(options: ResolvedTransportOptions) {
    this.#options = options
    this.store = options.store
    this.#runEvents = new RunEventReaders(options, this.#self)
    const store = storeOf(options.backend)
    this.#memory = store?.virtual === true ? store : undefined
    this.schedules = new BullmqSchedules({
      clock: () => this.#opened().host.clock,
      queue: (name) => {
        if (!this.#queues.has(name)) this.#knowQueue(name)
        return this.#queue(name)
      },
      store: options.store,
      jobOptions: (message) => jobOptions(message, this.#options.retention),
      shifted: this.#memory !== undefined,
    })
  }

  open(host: TransportHost): Promise<void> {
    if (this.#host !== undefined) return Promise.reject(new StorageError('bullmqTransport: open() was called twice'))
    // Each queue's Queue connects at its first use (a send, a purge): the store has checked Redis already.
    this.#host = host
    return Promise.resolve()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Workers first, forced: deliveries not settled stay active in BullMQ, their locks expire and
    // another Worker takes them back as stalled (redelivered). Settles under way finish first.
    await Promise.allSettled([...this.#settling])
    if (this.#recheck !== undefined) clearTimeout(this.#recheck)
    await this.#runEvents.close()
    await Promise.allSettled([...this.#consumers.values()].map((c) => c.worker.close(true)))
    await Promise.allSettled([...this.#queues.values()].map((q) => q?.close()))
  }

  async add(messages: readonly TaskMessage[]): Promise<void> {
    if (messages.length === 0) return
    const { host } = this.#opened()
    const now = host.clock.now()
    // One Queue.addBulk per queue: a FlowProducer's addBulk (one MULTI across queues) cost the
    // producer about twice the CPU per job (it builds each job's keys and awaits each one).
    // Not atomic across jobs: a call that fails part way may leave some added, and the engine
    // sends them all again (the outbox keeps them; an id BullMQ holds is skipped).
    const byQueue = new Map<string, JobsOf>()
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!
      let jobs = byQueue.get(message.queue)
      if (jobs === undefined) byQueue.set(message.queue, (jobs = []))
      if (!this.#queues.has(message.queue)) this.#knowQueue(message.queue)
      const data: JobData = { message, stalls: 0 }
      jobs.push({
        name: message.task,
        data,
        opts: {
          jobId: toJobId(message.id),
          delay: message.eta === null ? 0 : Math.max(0, message.eta - now),
          ...jobOptions(message, this.#options.retention),
        },
      })
    }
    const adds: Array<Promise<unknown>> = []
    for (const [name, jobs] of byQueue) adds.push(this.#queue(name).addBulk(jobs))
    await Promise.all(adds)
  }

  async listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    if (this.#consumers.has(queue)) return
    const { host } = this.#opened()
    if (!this.#queues.has(queue)) this.#knowQueue(queue)
    const deliveryHost = {
      self: this.#self,
      wallTimeOf: (at: number) => Date.now() + Math.max(0, at - host.clock.now()),
      track: (settling: Promise<unknown>) => {
        listener.held--
        this.#settling.add(settling)
        const end = (): void => {
          this.#settling.delete(settling)
          host.wake()
        }
        settling.then(end, end)
      },
      finished: (id: string) =>
        new Promise<void>((resolve) => {
          // The Worker says when it has finished the job; if it never does (its lock was lost:
          // it reports an error, and the job comes back as stalled), stop waiting after a lock's life.
          const timer = setTimeout(done, this.#options.lockDuration)
          timer.unref?.()
          function done(): void {
            clearTimeout(timer)
            finishing.delete(id)
            resolve()
          }
          finishing.set(id, done)
        }),
    }
    const finishing = new Map<string, () => void>()
    const onFinished = (job: Job | undefined): void => {
      if (job?.id !== undefined) finishing.get(job.id)?.()
    }
    const worker: Consumer = new Worker<JobData, unknown, string, IQueueBackend>(
      queue,
      (job: Job<JobData>, token?: string) => {
        // A Worker blocked waiting for a job when it was paused takes one more on waking.
        if (listener.paused) return backToWait(job, token ?? '')
        const slot = slotOf(job)
        // A slot after the schedule's end: completed here, never run (BullMQ made it before the end).
        if (slot?.drop === true) return Promise.resolve(null)
        const { delivery, done } = deliveryOf(job, token ?? '', deliveryHost, slot?.message)
        listener.held++
        deliver(delivery)
        host.wake()
        return done
      },
      {
        connection: this.#options.connection,
        prefix: this.#options.prefix,
        concurrency,
        lockDuration: this.#options.lockDuration,
        stalledInterval: this.#options.stalledInterval,
        // Never let BullMQ fail a stalled job itself: the engine decides what a redelivery means.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        ...(this.#options.limiter === undefined ? {} : { limiter: { ...this.#options.limiter } }),
      },
      this.#options.backend,
    )
    // What a Worker reports here (a lost lock, a dropped connection) it recovers from itself, and
    // the engine hears of it as a redelivery; without a listener an 'error' event would throw.
    worker.on('error', () => undefined)
    worker.on('completed', onFinished)
    worker.on('failed', onFinished)
    const listener: Listener = { worker, concurrency, held: 0, paused: false }
    this.#consumers.set(queue, listener)
    await worker.waitUntilReady()
  }

  /**
   * Stops `queue`'s Worker from taking jobs (`Worker.pause`, not waiting for the jobs it holds,
   * which the engine settles). The app's pause lives in its store, which every process hears, so
   * each pauses its own Worker; BullMQ's queue-wide `Queue.pause()` is left alone (NOTES.md).
   */
  async pause(queue: string): Promise<void> {
    const listener = this.#consumers.get(queue)
    if (listener === undefined) return
    listener.paused = true
    await listener.worker.pause(true)
  }

  /** Lets `queue`'s Worker take jobs again (`Worker.resume`). */
  async resume(queue: string): Promise<void> {
    const listener = this.#consumers.get(queue)
    if (listener === undefined) return
    listener.paused = false
    await listener.worker.resume()
  }

  /**
   * Over `bullmqBackend()` on a virtual clock, BullMQ's Worker takes jobs in turns of its own,
   * which the engine cannot see: false while a job of a listened queue is ready and its Worker
   * has a free slot, or has been claimed by that Worker and not handed over yet, or is delayed
   * while no Worker waits on the queue (so no timer is aimed at its due time yet), or while a
   * settle is on its way, so that virtual time does not move past a delivery about to happen.
   * Elsewhere (Redis) always true: BullMQ's time there is not the app's.
   */
  isQuiet(): boolean {
    const store = this.#memory
    if (store === undefined || this.#closed) return true
    const quiet = this.#settling.size === 0 && [...this.#consumers].every(([name, listener]) => this.#listenerQuiet(store, name, listener))
    // Nothing calls the engine when BullMQ's turns end with nothing to deliver: look again soon.
    if (!quiet && this.#recheck === undefined && this.#host !== undefined) {
      const host = this.#host
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined
        host.wake()
      }, 1)
    }
    return quiet
  }

  #listenerQuiet(store: Store, name: string, listener: Listener): boolean {
    const q = store.queueByKey(`${this.#options.prefix}:${name}`)
    if (q === undefined) return true
    // A paused Worker takes nothing, however much is ready.
    if (listener.held < listener.concurrency && !listener.worker.isPaused()) {
      if (q.hasReadyWork()) return false
      // A delayed job is due at a timer only a Worker blocked in its wait arms: between two
      // waits (a claim, a settle, a wait timed out) nothing is armed, and time must not pass it.
      if (q.delayed.size > 0 && q.blockedWaits === 0) return false
    }
    // BullMQ's lock tokens are `<worker id>:<n>`.
    const mine = `${listener.worker.id}:`
    let claimed = 0
    for (const id of q.active.toArray()) if (q.jobs.get(id)?.lock?.token.startsWith(mine) === true) claimed++
    return claimed <= listener.held
  }

  /**
   * Other handles' run reports, through one QueueEvents per queue (the ones given, and each this
   * handle adds to or listens on, now or later): ./run-events.ts.
   */
  events(queues: readonly string[], listener: (event: RemoteRunEvent) => void): Promise<() => Promise<void>> {
    this.#opened()
    // The queues given are only heard: purge, remove and forget keep to the ones this handle used.
    return this.#runEvents.subscribe([...queues, ...this.#queues.keys()], listener)
  }

  /** A queue this handle adds to or listens on for the first time: its events are heard too. */
  #knowQueue(queue: string): void {
    this.#queues.set(queue, undefined)
    this.#runEvents.addQueue(queue)
  }

  async purge(queue: string | undefined): Promise<number> {
    this.#opened()
    const names = queue === undefined ? [...this.#queues.keys()] : [queue]
    let dropped = 0
    for (const name of names) {
      const q = this.#queue(name)
      if ((await q.getJobSchedulersCount()) > 0) {
        dropped += await purgeAround(q)
        continue
      }
      const counts = await q.getJobCounts('wait', 'prioritized', 'delayed')
      // Counted first: a message added between the count and the drain is dropped uncounted.
      await q.drain(true)
      dropped += (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)
    }
    return dropped
  }

  /**
   * Takes the messages of `ids` that wait (ready or delayed) out of BullMQ; resolves with them.
   * BullMQ finds a job by queue and id, and an id says nothing of its queue: the queues looked in
   * are the ones this handle added to or listened on. A job taken by a Worker meanwhile stays
   * (BullMQ refuses to remove a locked job).
   */
  async remove(ids: readonly string[]): Promise<TaskMessage[]> {
    const removed: TaskMessage[] = []
    await this.#eachJob(ids, async (q, job, state) => {
      if (!WAITING.has(state)) return
      // 0: a Worker took it in the meantime (locked); it runs, and the engine's gates see the revoke.
      if ((await q.remove(job.id!)) === 1) removed.push((job.data as JobData).message)
    })
    return removed
  }

  /**
   * Removes the finished jobs of `ids` (kept for `retention` so a second add of their id is
   * skipped), so that the app can send those ids again; waiting and running ones stay. Looks in
   * the queues this handle added to or listened on, as `remove` does.
   */
  async forget(ids: readonly string[]): Promise<void> {
    await this.#eachJob(ids, async (q, job, state) => {
      if (FINISHED.has(state)) await q.remove(job.id!)
    })
  }

  /**
   * Finds the job of each of `ids` in the queues this handle added to or listened on (BullMQ
   * finds a job by queue and id, and an id says nothing of its queue), and visits it with its state.
   */
  async #eachJob(ids: readonly string[], visit: (q: Admin, job: Job, state: string) => Promise<void>): Promise<void> {
    this.#opened()
    const left = new Set(ids)
    for (const name of [...this.#queues.keys()]) {
      if (left.size === 0) break
      const q = this.#queue(name)
      for (const id of [...left]) {
        const job = await q.getJob(toJobId(id))
        if (job === undefined) continue
        left.delete(id)
        await visit(q, job, await job.getState())
      }
    }
  }

  #queue(name: string): Admin {
    let q = this.#queues.get(name)
    if (q === undefined) {
      q = new Queue<JobData, unknown, string, JobData, unknown, string, IQueueBackend>(
        name,
        { connection: this.#options.connection, prefix: this.#options.prefix },
        this.#options.backend,
      )
      this.#queues.set(name, q)
    }
    return q
  }

  #opened(): { host: TransportHost } {
    if (this.#closed) throw new StorageError('bullmqTransport: the transport is closed')
    if (this.#host === undefined) throw new StorageError('bullmqTransport: open() it first')
    return { host: this.#host }
  }
}
