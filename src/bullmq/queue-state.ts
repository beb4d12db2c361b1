import { EventStream } from './events.js'
import { IdList } from './id-list.js'
import type { JobRecord, JobStateName } from './job-record.js'
import { SortedSet } from './sorted-set.js'
import type { Clock } from '../core/time/clock.js'

/** A job scheduler's fields, as the Redis hash keeps them (values are strings). */
export type SchedulerRecord = Record<string, string>

/**
 * What a queue needs from the store that holds it (the store's clocks and the other queues a
 * flow reaches). `Store` implements it; declared here so the steps depend on the queue alone.
 */
export interface QueueHost {
  readonly clock: Clock
  readonly durable: boolean
  readonly virtual: boolean
  ttlNow(): number
  fromJobTime(t: number): number
  toCallerTime(t: number): number
  queueByKey(key: string): QueueState | undefined
  node(key: string): { queue: QueueState; id: string; job: JobRecord | undefined } | undefined
}

/** Per-minute counts of finished jobs (`getMetrics`), as Redis' collectMetrics keeps them. */
export interface MetricsRecord {
  count: number
  prevTS?: number
  prevCount: number
  /** Newest first. */
  data: number[]
}

/** A duplicate kept to run after the active job of its deduplication id (keepLastIfActive). */
export interface DedupNext {
  name: string
  data: string
  opts: Record<string, unknown>
  jobId?: string
  parentKey?: string
  parent?: JobRecord['parent']
  parentDependenciesKey?: string
  repeatJobKey?: string
}

/**
 * Everything one queue (name + prefix) holds, the in-memory image of BullMQ's Redis keys:
 * job records, the state lists and sets, meta, counters, locks, the limiter, dedup keys,
 * schedulers, metrics and the event stream. Shared by every backend instance on the queue.
 */
export class QueueState {
  readonly jobs = new Map<string, JobRecord>()
  readonly wait = new IdList()
  readonly active = new IdList()
  readonly prioritized = new SortedSet()
  readonly delayed = new SortedSet()
  readonly completed = new SortedSet()
  readonly failed = new SortedSet()
  readonly waitingChildren = new SortedSet()
  /** The structure that holds the jobs of each state: a list in Redis LIST order, or a sorted set. */
  readonly byState: Readonly<Record<JobStateName, IdList | SortedSet>> = {
    wait: this.wait,
    active: this.active,
    prioritized: this.prioritized,
    delayed: this.delayed,
    completed: this.completed,
    failed: this.failed,
    'waiting-children': this.waitingChildren,
  }
  readonly meta = new Map<string, string>()
  readonly events = new EventStream()
  /** Candidates for the next stalled check (the active ids of the previous one). */
  readonly stalled = new Set<string>()
  readonly dedup = new Map<string, { jobId: string; until?: number }>()
  readonly dedupNext = new Map<string, DedupNext>()
  readonly schedulers = new Map<string, SchedulerRecord>()
  /** Scheduler id → next iteration time. */
  readonly schedulerTimes = new SortedSet()
  metrics: { completed: MetricsRecord; failed: MetricsRecord } = {
    completed: { count: 0, prevCount: 0, data: [] },
    failed: { count: 0, prevCount: 0, data: [] },
  }
  /** Connection names of the backends open on this queue (getClientList). */
  readonly clients = new Map<object, string>()
  idCounter = 0
  priorityCounter = 0
  stalledCheckUntil = 0
  /**
   * Redis' delay marker: set when a job enters delayed, taken by one waiting worker, which then
   * recomputes its wait from the due time with its own `Date.now()` (a test may have moved it).
   */
  delayMarker = false
  /**
   * Workers blocked in a wait for work on this queue right now: each keeps a timer on the
   * store's clock aimed at the next delayed job, so while one waits, that job's due time is
   * armed (the transport's `isQuiet` reads it on a virtual clock).
   */
  blockedWaits = 0
  limiter: { count: number; until: number } = { count: 0, until: 0 }
  /** Jobs changed since the last persist (durable storage only). */
  readonly dirty = new Set<string>()
  dirtyQueue = false
  readonly #wakers = new Set<() => void>()

  constructor(
    readonly store: QueueHost,
    readonly name: string,
    readonly prefix: string,
  ) {}

  get key(): string {
    return `${this.prefix}:${this.name}`
  }

  /** Time of jobs: delays, due times, schedulers. */
  now(): number {
    return this.store.clock.now()
  }

  /** Time of expiries: locks, stall checks, the limiter's window, deduplication ttl. */
  ttlNow(): number {
    return this.store.ttlNow()
  }

  /** The node key of one of this queue's jobs (`<prefix>:<queue>:<id>`), as flows name them. */
  nodeKey(id: string): string {
    return `${this.key}:${id}`
  }

  maxEvents(): number {
    const raw = this.meta.get('opts.maxLenEvents')
    const n = raw === undefined ? Number.NaN : Number(raw)
    return Number.isFinite(n) ? n : 10_000
  }

  emit(fields: Record<string, string | number | boolean | undefined>): void {
    this.events.append(fields, this.maxEvents())
  }

  isPaused(): boolean {
    return this.meta.has('paused')
  }

  isMaxed(): boolean {
    const raw = this.meta.get('concurrency')
    return raw !== undefined && this.active.length >= Number(raw)
  }

  isPausedOrMaxed(): boolean {
    return this.isPaused() || this.isMaxed()
  }

  touch(job: JobRecord): void {
    if (this.store.durable) this.dirty.add(job.id)
  }

  touchQueue(): void {
    if (this.store.durable) this.dirtyQueue = true
  }

  /** Wait list push: LPUSH (FIFO) or RPUSH (LIFO, next to run). */
  addToWait(job: JobRecord, lifo = false): void {
    job.state = 'wait'
    if (lifo) this.wait.pushRight(job.id)
    else this.wait.pushLeft(job.id)
    this.touch(job)
    this.wake()
  }

  addWithPriority(job: JobRecord, priority: number): void {
    job.state = 'prioritized'
    this.priorityCounter++
    this.prioritized.add(job.id, priority * 0x1_0000_0000 + (this.priorityCounter % 0x1_0000_0000))
    this.touch(job)
    this.touchQueue()
    this.wake()
  }

  /** To wait or prioritized by the job's priority (how a job becomes ready). */
  enqueue(job: JobRecord, lifo = false): void {
    if (job.priority > 0) this.addWithPriority(job, job.priority)
    else this.addToWait(job, lifo)
  }

  /** Adds to delayed at `due` (ms); equal due times keep insertion order. Returns the due time. */
  addDelayed(job: JobRecord, due: number): number {
    const due0 = Math.floor(due)
    const min = due0 * 0x1000
    const max = (due0 + 1) * 0x1000 - 1
    const inSlot = this.delayed.rangeByScore(min, max)
    let score = min
    if (inSlot.length > 0) {
      const top = this.delayed.score(inSlot[inSlot.length - 1]!)!
      score = top >= max ? max : top + 1
    }
    job.state = 'delayed'
    this.delayed.add(job.id, score)
    this.delayMarker = true
    this.touch(job)
    this.wake()
    return due0
  }

  /** When the next delayed job is due (ms), or undefined. */
  nextDelayed(): number | undefined {
    const first = this.delayed.first()
    return first === undefined ? undefined : Math.floor(first.score / 0x1000)
  }

  /** Removes a job id from whichever state set holds it. */
  removeFromState(job: JobRecord): void {
    this.byState[job.state].remove(job.id)
  }

  /** Empties the queue in place (obliterate): every backend on it keeps its reference. */
  reset(): void {
    for (const job of this.jobs.values()) this.touch(job)
    this.jobs.clear()
    this.wait.clear()
    this.active.clear()
    for (const set of [this.prioritized, this.delayed, this.completed, this.failed, this.waitingChildren, this.schedulerTimes]) set.clear()
    this.meta.clear()
    this.events.clear()
    this.stalled.clear()
    this.dedup.clear()
    this.dedupNext.clear()
    this.schedulers.clear()
    this.metrics.completed = { count: 0, prevCount: 0, data: [] }
    this.metrics.failed = { count: 0, prevCount: 0, data: [] }
    this.idCounter = 0
    this.priorityCounter = 0
    this.stalledCheckUntil = 0
    this.limiter = { count: 0, until: 0 }
    this.touchQueue()
  }

  /** Calls `fn` on the next wake-up (work may be ready, or delayed/state changed). */
  onWake(fn: () => void): () => void {
    this.#wakers.add(fn)
    return () => this.#wakers.delete(fn)
  }

  wake(): void {
    if (this.#wakers.size === 0) return
    for (const fn of [...this.#wakers]) fn()
  }

  /** Whether a worker should try a claim now. */
  hasReadyWork(): boolean {
    // A due delayed job wakes a worker even when paused: its claim is what promotes the job
    // (to wait, where a paused queue keeps it).
    const next = this.nextDelayed()
    if (next !== undefined && next <= this.now()) return true
    if (this.isPausedOrMaxed()) return false
    return this.wait.length > 0 || this.prioritized.size > 0
  }
}
