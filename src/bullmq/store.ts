import type { Clock } from '../core/time/clock.js'
import type { Storage } from '../storage/types.js'
import type { JobRecord } from './job-record.js'
import { Persistence } from './persistence.js'
import { type QueueHost, QueueState } from './queue-state.js'

// Taken at load: a fake Date installed later (vi.useFakeTimers) does not replace it.
const realDateNow = Date.now

/**
 * The queues of one storage (and clock), shared by every backend built on them: BullMQ builds
 * a backend per Queue, Worker, QueueEvents and FlowProducer, and they must all see one queue.
 */
export class Store implements QueueHost {
  readonly #queues = new Map<string, QueueState>()
  readonly persistence: Persistence
  #opening: Promise<void> | undefined
  #lastFlush: Promise<void> = Promise.resolve()

  readonly #virtual: boolean

  /** The clock is a caller's own (a virtual one), not the host's. */
  get virtual(): boolean {
    return this.#virtual
  }

  constructor(
    readonly storage: Storage,
    readonly clock: Clock,
    /** The clock is not the system one (its time may be far from `Date.now()`). */
    virtual: boolean,
  ) {
    this.#virtual = virtual
    this.persistence = new Persistence(this)
  }

  get durable(): boolean {
    return this.storage.capabilities.durable
  }

  /** Opens the storage and loads what it holds, once. */
  open(): Promise<void> {
    this.#opening ??= this.persistence.load()
    return this.#opening
  }

  /** The state of queue `name` under `prefix`, made on first use. */
  queue(prefix: string, name: string): QueueState {
    const key = `${prefix}:${name}`
    let q = this.#queues.get(key)
    if (q === undefined) {
      q = new QueueState(this, name, prefix)
      this.#queues.set(key, q)
    }
    return q
  }

  /** The queue whose key (`<prefix>:<name>`) is given, if it was ever used. */
  queueByKey(key: string): QueueState | undefined {
    return this.#queues.get(key)
  }

  queues(): IterableIterator<QueueState> {
    return this.#queues.values()
  }

  /**
   * The job a node key (`<prefix>:<queue>:<id>`) names. The queue part is the longest known
   * queue key before a colon (job ids of schedulers contain colons).
   */
  node(key: string): { queue: QueueState; id: string; job: JobRecord | undefined } | undefined {
    let best: QueueState | undefined
    for (const [qk, q] of this.#queues) {
      if (key.length > qk.length && key.startsWith(qk) && key[qk.length] === ':' && (best === undefined || qk.length > best.key.length)) best = q
    }
    if (best === undefined) return undefined
    const id = key.slice(best.key.length + 1)
    return { queue: best, id, job: best.jobs.get(id) }
  }

  /**
   * The time expiries run on. With the real clock it is the host's real time even when a test
   * fakes `Date` (Redis keeps its key expiries on the server's clock, out of a fake's reach);
   * with a virtual clock it is that clock, so lock expiry, stall checks and rate-limit windows
   * follow virtual time.
   */
  ttlNow(): number {
    return this.#virtual ? this.clock.now() : realDateNow()
  }

  /**
   * A time BullMQ's classes took from `Date.now()` (a job's timestamp) on this store's clock:
   * with a virtual clock, shifted by how far that clock is from the real one.
   */
  fromJobTime(t: number): number {
    return this.#virtual ? t + (this.clock.now() - Date.now()) : t
  }

  /** A time on this store's clock as BullMQ's classes compare it with `Date.now()`. */
  toCallerTime(t: number): number {
    return this.#virtual ? t - this.clock.now() + Date.now() : t
  }

  /** Writes what changed (durable storage only); called after every operation. */
  flush(): Promise<void> {
    const p = this.persistence.flush()
    // Every write issued so far, not only the last one: an empty flush resolves at once.
    this.#lastFlush = Promise.all([this.#lastFlush, p.catch(() => undefined)]).then(() => undefined)
    return p
  }

  /** Resolves once the writes issued so far are stored. */
  settled(): Promise<void> {
    return this.#lastFlush
  }

  /**
   * Resolves once every write issued before it resolves is stored: the caller's next synchronous
   * step sees no change that is not on disk yet.
   */
  async quiet(): Promise<void> {
    let last: Promise<void>
    do {
      last = this.#lastFlush
      await last
    } while (last !== this.#lastFlush)
  }
}
