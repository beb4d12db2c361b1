import type {
  DependenciesOpts,
  FinishedStatus,
  IQueueBackend,
  JobJson,
  JobProgress,
  JobsOptions,
  JobState,
  JobType,
  KeepJobs,
  MinimalJob,
  MoveToDelayedOpts,
  MoveToWaitingChildrenOpts,
  ParentKeyOpts,
  QueueBaseOptions,
  RepeatableOptions,
  RetryJobOpts,
  RetryOptions,
  StreamReadRaw,
  WorkerOptions,
} from 'bullmq'
import { EventEmitter } from 'eventemitter3'
import { addJob, inputFromJson } from './add.js'
import { BlockingWaits } from './blocking.js'
import { type ClaimOptions, type ClaimResult, moveToActive } from './claim.js'
import { dedupOwner } from './dedup.js'
import { check, ErrorCode, finishedError } from './errors.js'
import { keepPolicy, moveToFinished } from './finish.js'
import * as getters from './getters.js'
import { clone, toJobJson } from './job-record.js'
import { limiterPttl, rateLimitTtl, saturate } from './limiter.js'
import { extendLock, extendLocks, moveStalledJobsToWait } from './locks.js'
import { getMetrics } from './metrics.js'
import { nextTurn } from './next-turn.js'
import { removeDependency } from './parents.js'
import type { QueueState } from './queue-state.js'
import { clean, drain, obliterate, removeJob, removeWithChildren } from './removal.js'
import { addJobScheduler, removeJobScheduler, updateJobScheduler } from './schedulers.js'
import type { Store } from './store.js'
import * as transitions from './transitions.js'

type Listener = (...args: unknown[]) => void

/** What BullMQ's factory passes besides the name and options. */
export interface FactoryExtras {
  blocking?: boolean
  withBlockingConnection?: boolean
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

/**
 * BullMQ's `IQueueBackend` on a celeriac store. One instance per BullMQ class instance (Queue,
 * Worker, QueueEvents, FlowProducer...), all on the store's shared {@link QueueState}. Every
 * operation runs synchronously on the queue's state, so it is atomic as a Lua script is, then
 * writes what changed when the storage is durable.
 */
export class CeleriacQueueBackend implements IQueueBackend {
  readonly #emitter = new EventEmitter()
  readonly #waits = new BlockingWaits()
  readonly #q: QueueState
  #ready: Promise<void> | undefined
  closing: Promise<void> | undefined
  readonly minimumBlockTimeout = 0.001

  constructor(
    readonly store: Store,
    readonly name: string,
    readonly prefix: string,
    readonly opts: QueueBaseOptions,
    extras: FactoryExtras = {},
    readonly owns = true,
  ) {
    this.#q = store.queue(prefix, name)
    if (extras.withBlockingConnection) {
      const worker = (opts as { name?: string }).name
      this.#q.clients.set(this, `${this.clientName()}${worker ? `:w:${worker}` : ''}`)
    }
  }

  get state(): QueueState {
    return this.#q
  }

  // ---------------------------------------------------------------- lifecycle

  waitUntilReady(): Promise<void> {
    // Like a new connection, a new backend is ready on a later turn (BullMQ's classes start
    // their loops meanwhile).
    this.#ready ??= this.store
      .open()
      .then(nextTurn)
      .then(() => {
        this.#emitter.emit('ready')
      })
    return this.#ready
  }

  close(): Promise<void> {
    if (!this.owns) return Promise.resolve()
    this.closing ??= (async () => {
      this.#waits.interrupt()
      this.#q.clients.delete(this)
      await this.store.flush()
      this.#emitter.emit('close')
    })()
    return this.closing
  }

  async disconnect(): Promise<void> {
    // As a dropped connection: blocked reads return, later ones too.
    this.#waits.interrupt()
  }

  async setName(name: string): Promise<void> {
    this.#q.clients.set(this, name)
  }

  on(event: 'ready' | 'error' | 'close', listener: Listener): this {
    this.#emitter.on(event, listener)
    return this
  }

  once(event: 'ready' | 'error' | 'close', listener: Listener): this {
    this.#emitter.once(event, listener)
    return this
  }

  removeListener(event: string, listener: Listener): this {
    this.#emitter.removeListener(event, listener)
    return this
  }

  // ---------------------------------------------------------------- identity

  forQueue(queueName: string, prefix?: string): IQueueBackend {
    return new CeleriacQueueBackend(
      this.store,
      queueName,
      prefix ?? this.prefix,
      { ...this.opts, prefix: prefix ?? this.prefix } as QueueBaseOptions,
      {},
      false,
    )
  }

  get qualifiedName(): string {
    return `${this.prefix}:${this.name}`
  }

  get keys(): Record<string, string> {
    const base = `${this.qualifiedName}:`
    const keys: Record<string, string> = { '': base }
    for (const k of [
      'active',
      'wait',
      'waiting',
      'paused',
      'resumed',
      'meta',
      'id',
      'delayed',
      'prioritized',
      'stalled-check',
      'completed',
      'failed',
      'stalled',
      'repeat',
      'limiter',
      'drained',
      'events',
      'marker',
      'pc',
      'de',
      'progress',
      'metrics',
      'waiting-children',
    ])
      keys[k] = `${base}${k}`
    return keys
  }

  toKey(type: string): string {
    return `${this.qualifiedName}:${type}`
  }

  parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
    const last = key.lastIndexOf(':')
    const prev = key.lastIndexOf(':', last - 1)
    if (last === -1 || prev === -1) {
      const [prefix = '', queueName = '', id = ''] = key.split(':')
      return { prefix, queueName, id }
    }
    return { prefix: key.slice(0, prev), queueName: key.slice(prev + 1, last), id: key.slice(last + 1) }
  }

  clientName(suffix = ''): string {
    return `${this.prefix}:${base64(this.name)}${suffix}`
  }

  // ---------------------------------------------------------------- helpers

  /** Runs one operation on the store after it is open, then persists what it changed. */
  async #run<T>(op: (q: QueueState) => T): Promise<T> {
    await this.waitUntilReady()
    const result = op(this.#q)
    await this.store.flush()
    await nextTurn()
    return result
  }

  /**
   * The same for a claim or a lock renewal, answered without waiting for the disk: losing one
   * in a crash only means the job runs again (it is still waiting, or comes back as stalled),
   * and the storage keeps writes in call order, so what follows is written after it.
   */
  async #runUnsynced<T>(op: (q: QueueState) => T): Promise<T> {
    await this.waitUntilReady()
    // On durable storage it sees only what is stored: a job whose add has not answered its
    // caller yet is not taken. (On memory every change is "stored" when made.)
    if (this.store.durable) await this.store.quiet()
    const result = op(this.#q)
    this.store.flush().catch((error: unknown) => this.#emitter.emit('error', error))
    await nextTurn()
    return result
  }

  #claimOptions(token: string, name?: string): ClaimOptions {
    const o = this.opts as WorkerOptions
    const claim: ClaimOptions = { token, lockDuration: o.lockDuration ?? 30_000 }
    const worker = name ?? o.name
    if (worker) claim.name = worker
    if (o.limiter) claim.limiter = { max: o.limiter.max, duration: o.limiter.duration }
    return claim
  }

  // ---------------------------------------------------------------- adding

  addJob(job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
    return this.#run((q) => {
      const result = addJob(q, inputFromJson(job, parentKeyOpts), jobId ?? '')
      return check<string>(result, { jobId, command: 'addJob', ...(parentKeyOpts?.parentKey ? { parentKey: parentKeyOpts.parentKey } : {}) })
    })
  }

  addJobs(entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
    return this.#run((q) =>
      entries.map((e) =>
        check<string>(addJob(q, inputFromJson(e.job, e.parentKeyOpts), e.jobId ?? ''), {
          jobId: e.jobId,
          command: 'addJob',
          ...(e.parentKeyOpts?.parentKey ? { parentKey: e.parentKeyOpts.parentKey } : {}),
        }),
      ),
    )
  }

  addFlow(
    entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
  ): Promise<[Error | null, string | number][]> {
    return this.#run(() =>
      entries.map((e): [Error | null, string | number] => {
        const q = this.store.queue(e.prefix, e.queueName)
        return [null, addJob(q, inputFromJson(e.jobData, e.parentKeyOpts), e.jobId ?? '')]
      }),
    )
  }

  addJobScheduler(
    jobSchedulerId: string,
    nextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedJobOpts: JobsOptions,
  ): Promise<[string, number]> {
    return this.#run((q) =>
      check<[string, number]>(
        addJobScheduler(q, jobSchedulerId, nextMillis, templateData, clone(templateOpts ?? {}), clone(opts), clone(delayedJobOpts ?? {})),
        {
          command: 'addJobScheduler',
        },
      ),
    )
  }

  // ---------------------------------------------------------------- claim and finish

  moveToActive(token: string, name?: string): Promise<ClaimResult> {
    return this.#runUnsynced((q) => moveToActive(q, this.#claimOptions(token, name)))
  }

  moveToCompleted<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    returnValue: R,
    removeOnComplete: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    const value = JSON.stringify(returnValue)
    return this.#finish(job, 'completed', value === undefined ? 'null' : value, removeOnComplete, token, fetchNext)
  }

  moveToFailed<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    failedReason: string,
    removeOnFail: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, unknown>,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    return this.#finish(job, 'failed', failedReason ?? '', removeOnFail, token, fetchNext, fieldsToUpdate)
  }

  #finish(
    job: MinimalJob,
    target: 'completed' | 'failed',
    value: string,
    remove: boolean | number | KeepJobs | undefined,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, unknown>,
  ): Promise<{ result: ClaimResult | []; finishedOn: number }> {
    const o = this.opts as WorkerOptions
    const timestamp = Date.now()
    return this.#run((q) => {
      const result = moveToFinished(q, {
        jobId: job.id ?? '',
        target,
        value,
        token,
        keep: keepPolicy(remove, target === 'completed' ? o.removeOnComplete : o.removeOnFail),
        attempts: job.opts?.attempts ?? 0,
        fetchNext: fetchNext && this.closing === undefined,
        claim: this.#claimOptions(token),
        ...(o.metrics?.maxDataPoints ? { maxMetricsSize: o.metrics.maxDataPoints } : {}),
        ...(fieldsToUpdate !== undefined ? { fieldsToUpdate } : {}),
        timestamp,
      })
      return { result: check<ClaimResult | []>(result, { jobId: job.id ?? '', command: 'moveToFinished', state: 'active' }), finishedOn: timestamp }
    })
  }

  moveToDelayed(jobId: string, timestamp: number, delay: number, token = '0', opts: MoveToDelayedOpts = {}): Promise<ClaimResult | []> {
    return this.#run((q) => {
      const result = transitions.moveToDelayed(q, {
        jobId,
        timestamp: this.store.fromJobTime(timestamp),
        delay,
        token,
        skipAttempt: opts.skipAttempt === true,
        ...(opts.fieldsToUpdate !== undefined ? { fields: opts.fieldsToUpdate } : {}),
        fetchNext: opts.fetchNext === true && this.closing === undefined,
        claim: this.#claimOptions(token),
      })
      const out = check<0 | ClaimResult>(result, { jobId, command: 'moveToDelayed', state: 'active' })
      // Redis answers 0 when no next job was taken, which BullMQ's parser turns into [].
      return out === 0 ? [] : out
    })
  }

  moveToWaitingChildren(jobId: string, token: string, opts: MoveToWaitingChildrenOpts = {}): Promise<boolean> {
    const child = opts.child ? `${opts.child.queue}:${opts.child.id}` : ''
    return this.#run((q) => {
      const result = transitions.moveToWaitingChildren(q, jobId, token, child)
      return check<number>(result, { jobId, command: 'moveToWaitingChildren', state: 'active' }) === 0
    })
  }

  moveJobFromActiveToWait(jobId: string, token = '0'): Promise<number> {
    return this.#run((q) => check<number>(transitions.moveJobFromActiveToWait(q, jobId, token), { jobId, command: 'moveJobFromActiveToWait', state: 'active' }))
  }

  retryJob(jobId: string, lifo: boolean, token = '0', opts: RetryJobOpts = {}): Promise<void> {
    return this.#run((q) => {
      check<number>(transitions.retryJob(q, jobId, lifo, token, opts.fieldsToUpdate), { jobId, command: 'retryJob', state: 'active' })
    })
  }

  retryFinishedJob<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    state: 'failed' | 'completed',
    opts: RetryOptions = {},
  ): Promise<void> {
    return this.#run((q) => {
      check<number>(transitions.retryFinishedJob(q, job.id ?? '', state, job.opts?.lifo === true, opts), {
        jobId: job.id ?? '',
        command: 'reprocessJob',
        state,
      })
    })
  }

  promote(jobId: string): Promise<void> {
    return this.#run((q) => {
      check<number>(transitions.promote(q, jobId), { jobId, command: 'promote', state: 'delayed' })
    })
  }

  moveStalledJobsToWait(): Promise<string[]> {
    const o = this.opts as WorkerOptions
    return this.#run((q) => moveStalledJobsToWait(q, o.maxStalledCount ?? 1, o.stalledInterval ?? 30_000))
  }

  retryFinishedJobs(state: FinishedStatus = 'failed', count = 1000, timestamp = Date.now()): Promise<number> {
    return this.#run((q) => transitions.moveJobsToWait(q, state, count, timestamp))
  }

  promoteJobs(count = 1000): Promise<number> {
    return this.#run((q) => transitions.moveJobsToWait(q, 'delayed', count, Number.MAX_VALUE))
  }

  pause(pause: boolean): Promise<void> {
    return this.#run((q) => {
      if (pause) {
        q.meta.set('paused', '1')
        q.delayMarker = false
      } else {
        q.meta.delete('paused')
        // as Redis re-adds its delay marker on resume
        if (q.delayed.size > 0) q.delayMarker = true
      }
      q.touchQueue()
      q.emit({ event: pause ? 'paused' : 'resumed' })
      q.wake()
    })
  }

  drain(delayed: boolean): Promise<void> {
    return this.#run((q) => drain(q, delayed))
  }

  cleanJobsByState(state: string, timestamp: number, limit = 0): Promise<string[]> {
    return this.#run((q) => clean(q, state, timestamp, limit))
  }

  obliterate(opts: { force: boolean; count: number }): Promise<number> {
    return this.#run((q) => {
      const result = obliterate(q, opts.count, opts.force)
      if (result === -1) throw new Error('Cannot obliterate non-paused queue')
      if (result === -2) throw new Error('Cannot obliterate queue with active jobs')
      return result
    })
  }

  async removeOrphanedJobs(): Promise<number> {
    // Jobs and their state are one record here: nothing can be orphaned.
    return 0
  }

  extendLock(jobId: string, token: string, duration: number): Promise<number> {
    return this.#runUnsynced((q) => extendLock(q, jobId, token, duration))
  }

  extendLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    return this.#runUnsynced((q) => extendLocks(q, jobIds, tokens, duration))
  }

  // ---------------------------------------------------------------- job data

  updateData<T = unknown, R = unknown, N extends string = string>(job: MinimalJob<T, R, N>, data: T): Promise<void> {
    const json = JSON.stringify(data)
    return this.#run((q) => {
      const rec = q.jobs.get(job.id ?? '')
      if (rec === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId: job.id ?? '', command: 'updateData' })
      rec.data = json === undefined ? '{}' : json
      q.touch(rec)
    })
  }

  updateProgress(jobId: string, progress: JobProgress): Promise<void> {
    const json = JSON.stringify(progress)
    return this.#run((q) => {
      const rec = q.jobs.get(jobId)
      if (rec === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId, command: 'updateProgress' })
      rec.progress = clone(progress)
      q.touch(rec)
      q.emit({ event: 'progress', jobId, data: json })
    })
  }

  addLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    return this.#run((q) => {
      const rec = q.jobs.get(jobId)
      if (rec === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId, command: 'addLog' })
      rec.logs.push(logRow)
      const count = rec.logs.length
      q.touch(rec)
      if (keepLogs !== undefined && keepLogs !== null) {
        rec.logs = keepLogs <= 0 ? [] : rec.logs.slice(-keepLogs)
        return Math.min(keepLogs, count)
      }
      return count
    })
  }

  clearLogs(jobId: string, keepLogs?: number): Promise<void> {
    return this.#run((q) => {
      const rec = q.jobs.get(jobId)
      if (rec === undefined) return
      rec.logs = keepLogs ? rec.logs.slice(-keepLogs) : []
      q.touch(rec)
    })
  }

  changeDelay(jobId: string, delay: number): Promise<void> {
    return this.#run((q) => {
      check<number>(transitions.changeDelay(q, jobId, delay), { jobId, command: 'changeDelay', state: 'delayed' })
    })
  }

  changePriority(jobId: string, priority = 0, lifo = false): Promise<void> {
    return this.#run((q) => {
      check<number>(transitions.changePriority(q, jobId, priority, lifo), { jobId, command: 'changePriority' })
    })
  }

  remove(jobId: string, removeChildren: boolean): Promise<number> {
    return this.#run((q) => check<number>(removeJob(q, jobId, removeChildren), { jobId, command: 'removeJob' }))
  }

  removeUnprocessedChildren(jobId: string): Promise<void> {
    return this.#run((q) => {
      const job = q.jobs.get(jobId)
      if (job?.deps === undefined) return
      const key = q.nodeKey(jobId)
      for (const childKey of [...job.deps]) {
        const node = this.store.node(childKey)
        if (node?.job === undefined) continue
        const state = node.job.state
        if (state === 'active' || state === 'completed' || state === 'failed') continue
        removeWithChildren(node.queue, node.id, key, { removeChildren: true, ignoreProcessed: true, ignoreLocked: true })
      }
    })
  }

  removeChildDependency(jobId: string, parentKey: string): Promise<boolean> {
    return this.#run((q) => {
      const job = q.jobs.get(jobId)
      if (job === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId, parentKey, command: 'removeChildDependency' })
      if (job.parentKey === undefined) return false
      if (this.store.node(parentKey)?.job === undefined)
        throw finishedError({ code: ErrorCode.ParentJobNotExist, jobId, parentKey, command: 'removeChildDependency' })
      if (!removeDependency(this.store, q.nodeKey(jobId), parentKey, false, q)) return false
      delete job.parentKey
      delete job.parent
      q.touch(job)
      return true
    })
  }

  removeDeduplicationKey(deduplicationId: string, jobId: string): Promise<number> {
    return this.#run((q) => {
      if (dedupOwner(q, deduplicationId) !== jobId) return 0
      q.dedup.delete(deduplicationId)
      q.touchQueue()
      return 1
    })
  }

  deleteDeduplicationKey(deduplicationId: string): Promise<number> {
    return this.#run((q) => {
      const had = dedupOwner(q, deduplicationId) !== undefined
      q.dedup.delete(deduplicationId)
      q.touchQueue()
      return had ? 1 : 0
    })
  }

  // ---------------------------------------------------------------- schedulers

  updateJobSchedulerNextMillis(
    jobSchedulerId: string,
    nextMillis: number,
    _templateData: string,
    delayedJobOpts: JobsOptions,
    producerId?: string,
  ): Promise<string | null> {
    return this.#run((q) => updateJobScheduler(q, jobSchedulerId, nextMillis, delayedJobOpts ?? {}, producerId))
  }

  removeJobScheduler(jobSchedulerId: string): Promise<number> {
    return this.#run((q) => removeJobScheduler(q, jobSchedulerId))
  }

  getJobScheduler(id: string): Promise<[string[] | null, string | null]> {
    return this.#run((q) => {
      const rec = q.schedulers.get(id)
      const next = q.schedulerTimes.score(id)
      if (rec === undefined || next === undefined) return [null, null]
      return [Object.entries(rec).flat(), String(q.store.toCallerTime(next))]
    })
  }

  isJobScheduler(id: string): Promise<boolean> {
    return this.#run((q) => q.schedulers.get(id)?.ic !== undefined)
  }

  getJobSchedulerData(key: string): Promise<Record<string, string>> {
    return this.#run((q) => ({ ...(q.schedulers.get(key) ?? {}) }))
  }

  getJobSchedulersRange(start: number, end: number, asc: boolean): Promise<string[]> {
    return this.#run((q) => {
      const ids = q.schedulerTimes.range(start, end, !asc)
      return ids.flatMap((id) => [id, String(q.store.toCallerTime(q.schedulerTimes.score(id) ?? 0))])
    })
  }

  getJobSchedulersCount(): Promise<number> {
    return this.#run((q) => q.schedulerTimes.size)
  }

  // ---------------------------------------------------------------- getters

  getState(jobId: string): Promise<JobState | 'unknown'> {
    return this.#run((q) => getters.getState(q, jobId))
  }

  isFinished(jobId: string, returnValue?: boolean): Promise<number | [number, string]> {
    return this.#run((q) => getters.isFinished(q, jobId, returnValue === true))
  }

  isMaxed(): Promise<boolean> {
    return this.#run((q) => q.isMaxed())
  }

  isJobInState(state: string, jobId: string): Promise<boolean> {
    return this.#run((q) => getters.isJobInState(q, state, jobId))
  }

  getJobData(jobId: string): Promise<JobJson | undefined> {
    return this.#run((q) => {
      const rec = q.jobs.get(jobId)
      return rec === undefined ? undefined : toJobJson(rec)
    })
  }

  getDeduplicationJobId(deduplicationId: string): Promise<string | null> {
    return this.#run((q) => dedupOwner(q, deduplicationId) ?? null)
  }

  getJobLogs(jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
    return this.#run((q) => getters.getJobLogs(q, jobId, start, end, asc))
  }

  getRateLimitTtl(maxJobs?: number): Promise<number> {
    return this.#run((q) => {
      if (maxJobs) return rateLimitTtl(q, maxJobs)
      const max = q.meta.get('max')
      if (max !== undefined) return rateLimitTtl(q, Number(max))
      return limiterPttl(q)
    })
  }

  getCounts(types: JobType[]): Promise<number[]> {
    return this.#run((q) => types.map((t) => getters.count(q, t)))
  }

  getCountsPerPriority(priorities: number[]): Promise<number[]> {
    return this.#run((q) => priorities.map((p) => getters.countPriority(q, Number(p))))
  }

  getRanges(types: JobType[], start = 0, end = -1, asc = false): Promise<[string][]> {
    return this.#run((q) => types.map((t) => getters.range(q, t, start, end, asc)) as unknown as [string][])
  }

  getDependencyCounts(jobId: string, types: string[]): Promise<number[]> {
    return this.#run((q) => getters.dependencyCounts(q, jobId, types))
  }

  getDependencies(jobId: string, opts: DependenciesOpts): Promise<getters.Dependencies> {
    return this.#run((q) => getters.dependencies(q, jobId, opts ?? {}))
  }

  getProcessedChildrenValues(jobId: string): Promise<Record<string, string>> {
    return this.#run((q) => Object.fromEntries(q.jobs.get(jobId)?.processed ?? []))
  }

  getIgnoredChildrenFailures(jobId: string): Promise<Record<string, string>> {
    return this.#run((q) => Object.fromEntries(q.jobs.get(jobId)?.failedChildren ?? []))
  }

  getMetrics(type: 'completed' | 'failed', start = 0, end = -1): Promise<[string[], string[], number]> {
    return this.#run((q) => getMetrics(q, type, start, end))
  }

  getClientList(): Promise<string[]> {
    return this.#run((q) => {
      let id = 0
      const lines = [...q.clients.values()].map((name) => `id=${++id} addr=celeriac fd=0 name=${name} db=0 cmd=bzpopmin`)
      return [lines.join('\n')]
    })
  }

  paginate(key: string, opts: { start: number; end: number; fetchJobs?: boolean }): Promise<getters.Page> {
    return this.#run((q) => getters.paginate(q, key, opts))
  }

  // ---------------------------------------------------------------- meta

  setQueueMeta(values: Record<string, string | number>): Promise<number> {
    return this.#run((q) => {
      let added = 0
      for (const [k, v] of Object.entries(values)) {
        if (!q.meta.has(k)) added++
        q.meta.set(k, String(v))
      }
      q.touchQueue()
      q.wake()
      return added
    })
  }

  getQueueMetaField(field: string): Promise<string | null> {
    return this.#run((q) => q.meta.get(field) ?? null)
  }

  getQueueMetaFields(fields: string[]): Promise<(string | null)[]> {
    return this.#run((q) => fields.map((f) => q.meta.get(f) ?? null))
  }

  getQueueMeta(): Promise<Record<string, string>> {
    return this.#run((q) => Object.fromEntries(q.meta))
  }

  removeQueueMetaFields(fields: string[]): Promise<number> {
    return this.#run((q) => {
      let n = 0
      for (const f of fields) if (q.meta.delete(f)) n++
      q.touchQueue()
      q.wake()
      return n
    })
  }

  hasQueueMetaField(field: string): Promise<boolean> {
    return this.#run((q) => q.meta.has(field))
  }

  setRateLimit(expireTimeMs: number): Promise<void> {
    return this.#run((q) => saturate(q, expireTimeMs))
  }

  removeRateLimitKey(): Promise<number> {
    return this.#run((q) => {
      const had = limiterPttl(q) !== -2
      q.limiter = { count: 0, until: 0 }
      q.wake()
      return had ? 1 : 0
    })
  }

  async removeDeprecatedPriorityKey(): Promise<number> {
    return 0
  }

  // ---------------------------------------------------------------- events and blocking

  trimEvents(maxLength: number): Promise<number> {
    return this.#run((q) => q.events.trim(maxLength))
  }

  publishEvent(fields: Record<string, string | number>, maxEvents: number): Promise<string> {
    return this.#run((q) => q.events.add(fields, maxEvents))
  }

  async readEvents(id: string, blockTimeout: number): Promise<StreamReadRaw> {
    await this.waitUntilReady()
    const q = this.#q
    const cursor = id === '$' ? q.events.lastId : id
    let entries = q.events.after(cursor)
    if (entries.length === 0 && this.closing === undefined) {
      await this.#waits.waitFor((wake) => q.events.onAppend(wake), blockTimeout)
      entries = q.events.after(cursor)
    }
    if (entries.length === 0) return null as unknown as StreamReadRaw
    return [[this.toKey('events'), entries.map((e) => [e.id, [...e.fields]])]] as unknown as StreamReadRaw
  }

  async waitForJob(blockTimeout: number): Promise<{ member: string; score: number } | null> {
    await this.waitUntilReady()
    if (this.closing !== undefined) return null
    const answer = await this.#waits.waitForJob(this.#q, blockTimeout)
    // A woken worker hears after the writer that woke it (a Redis server replies to the script's
    // caller first): on durable storage, once that write is stored.
    await this.store.settled()
    await nextTurn()
    return answer
  }

  async disconnectBlocking(): Promise<void> {
    this.#waits.interrupt()
  }

  async reconnectBlocking(): Promise<void> {
    this.#waits.resume()
  }
}
