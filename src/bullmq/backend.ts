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
} from 'bullmq'
import type { ClaimResult } from './claim.js'
import * as adding from './commands/adding.js'
import * as claimFinish from './commands/claim-finish.js'
import { BackendContext } from './commands/context.js'
import * as eventsBlocking from './commands/events-blocking.js'
import * as jobData from './commands/job-data.js'
import * as lifecycle from './commands/lifecycle.js'
import type { Listener } from './commands/lifecycle.js'
import * as meta from './commands/meta.js'
import * as moves from './commands/moves.js'
import * as queueControl from './commands/queue-control.js'
import * as reading from './commands/reading.js'
import * as scheduling from './commands/scheduling.js'
import type { Dependencies, Page } from './getters.js'
import type { QueueState } from './queue-state.js'
import type { Store } from './store.js'

/** What BullMQ's factory passes besides the name and options. */
export interface FactoryExtras {
  blocking?: boolean
  withBlockingConnection?: boolean
}

/**
 * BullMQ's `IQueueBackend` on a celeriac store. One instance per BullMQ class instance (Queue,
 * Worker, QueueEvents, FlowProducer...), all on the store's shared {@link QueueState}. Every
 * operation runs synchronously on the queue's state, so it is atomic as a Lua script is, then
 * writes what changed when the storage is durable. This class only delegates: each member is
 * a command of `commands/`, one file per concept, on the instance's {@link BackendContext}.
 */
export class CeleriacQueueBackend implements IQueueBackend {
  readonly #ctx: BackendContext
  readonly minimumBlockTimeout = 0.001

  /**
   * The longest a Worker blocks before it looks again (s). BullMQ caps it at 10 s for Redis'
   * reconnections; a wait here is re-aimed at every change of its queue, so on a virtual clock
   * (no connection, and hours of virtual time in a test) a day spares a Worker's loop every 10 s.
   */
  get maximumBlockTimeout(): number {
    return this.store.virtual ? 86_400 : 10
  }

  constructor(
    readonly store: Store,
    readonly name: string,
    readonly prefix: string,
    readonly opts: QueueBaseOptions,
    extras: FactoryExtras = {},
    readonly owns = true,
  ) {
    this.#ctx = new BackendContext(store, name, prefix, opts, owns)
    if (extras.withBlockingConnection) lifecycle.registerBlockingClient(this.#ctx)
  }

  get state(): QueueState {
    return this.#ctx.q
  }

  get closing(): Promise<void> | undefined {
    return this.#ctx.closing
  }

  waitUntilReady(): Promise<void> {
    return this.#ctx.waitUntilReady()
  }

  forQueue(queueName: string, prefix?: string): IQueueBackend {
    const p = prefix ?? this.prefix
    return new CeleriacQueueBackend(this.store, queueName, p, { ...this.opts, prefix: p } as QueueBaseOptions, {}, false)
  }

  get qualifiedName(): string {
    return this.#ctx.qualifiedName
  }

  toKey(type: string): string {
    return this.#ctx.toKey(type)
  }

  close(): Promise<void> {
    return lifecycle.close(this.#ctx)
  }

  disconnect(): Promise<void> {
    return lifecycle.disconnect(this.#ctx)
  }

  setName(name: string): Promise<void> {
    return lifecycle.setName(this.#ctx, name)
  }

  on(event: 'ready' | 'error' | 'close', listener: Listener): this {
    lifecycle.on(this.#ctx, event, listener)
    return this
  }

  once(event: 'ready' | 'error' | 'close', listener: Listener): this {
    lifecycle.once(this.#ctx, event, listener)
    return this
  }

  removeListener(event: string, listener: Listener): this {
    lifecycle.removeListener(this.#ctx, event, listener)
    return this
  }

  get keys(): Record<string, string> {
    return lifecycle.keys(this.#ctx)
  }

  parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
    return lifecycle.parseNodeKey(key)
  }

  clientName(suffix?: string): string {
    return lifecycle.clientName(this.#ctx, suffix)
  }

  addJob(job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
    return adding.addJob(this.#ctx, job, jobId, parentKeyOpts)
  }

  addJobs(entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
    return adding.addJobs(this.#ctx, entries)
  }

  addFlow(
    entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
  ): Promise<[Error | null, string | number][]> {
    return adding.addFlow(this.#ctx, entries)
  }

  addJobScheduler(
    jobSchedulerId: string,
    nextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedJobOpts: JobsOptions,
  ): Promise<[string, number]> {
    return scheduling.addJobScheduler(this.#ctx, jobSchedulerId, nextMillis, templateData, templateOpts, opts, delayedJobOpts)
  }

  moveToActive(token: string, name?: string): Promise<ClaimResult> {
    return claimFinish.moveToActive(this.#ctx, token, name)
  }

  moveToCompleted<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    returnValue: R,
    removeOnComplete: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    return claimFinish.moveToCompleted(this.#ctx, job, returnValue, removeOnComplete, token, fetchNext)
  }

  moveToFailed<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    failedReason: string,
    removeOnFail: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, unknown>,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    return claimFinish.moveToFailed(this.#ctx, job, failedReason, removeOnFail, token, fetchNext, fieldsToUpdate)
  }

  moveToDelayed(jobId: string, timestamp: number, delay: number, token?: string, opts?: MoveToDelayedOpts): Promise<ClaimResult | []> {
    return moves.moveToDelayed(this.#ctx, jobId, timestamp, delay, token, opts)
  }

  moveToWaitingChildren(jobId: string, token: string, opts?: MoveToWaitingChildrenOpts): Promise<boolean> {
    return moves.moveToWaitingChildren(this.#ctx, jobId, token, opts)
  }

  moveJobFromActiveToWait(jobId: string, token?: string): Promise<number> {
    return moves.moveJobFromActiveToWait(this.#ctx, jobId, token)
  }

  retryJob(jobId: string, lifo: boolean, token?: string, opts?: RetryJobOpts): Promise<void> {
    return moves.retryJob(this.#ctx, jobId, lifo, token, opts)
  }

  retryFinishedJob<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    state: 'failed' | 'completed',
    opts?: RetryOptions,
  ): Promise<void> {
    return moves.retryFinishedJob(this.#ctx, job, state, opts)
  }

  promote(jobId: string): Promise<void> {
    return moves.promote(this.#ctx, jobId)
  }

  moveStalledJobsToWait(): Promise<string[]> {
    return claimFinish.moveStalledJobsToWait(this.#ctx)
  }

  retryFinishedJobs(state?: FinishedStatus, count?: number, timestamp?: number): Promise<number> {
    return moves.retryFinishedJobs(this.#ctx, state, count, timestamp)
  }

  promoteJobs(count?: number): Promise<number> {
    return moves.promoteJobs(this.#ctx, count)
  }

  pause(pause: boolean): Promise<void> {
    return queueControl.pause(this.#ctx, pause)
  }

  drain(delayed: boolean): Promise<void> {
    return queueControl.drain(this.#ctx, delayed)
  }

  cleanJobsByState(state: string, timestamp: number, limit?: number): Promise<string[]> {
    return queueControl.cleanJobsByState(this.#ctx, state, timestamp, limit)
  }

  obliterate(opts: { force: boolean; count: number }): Promise<number> {
    return queueControl.obliterate(this.#ctx, opts)
  }

  removeOrphanedJobs(): Promise<number> {
    return queueControl.removeOrphanedJobs()
  }

  extendLock(jobId: string, token: string, duration: number): Promise<number> {
    return claimFinish.extendLock(this.#ctx, jobId, token, duration)
  }

  extendLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    return claimFinish.extendLocks(this.#ctx, jobIds, tokens, duration)
  }

  updateData<T = unknown, R = unknown, N extends string = string>(job: MinimalJob<T, R, N>, data: T): Promise<void> {
    return jobData.updateData(this.#ctx, job, data)
  }

  updateProgress(jobId: string, progress: JobProgress): Promise<void> {
    return jobData.updateProgress(this.#ctx, jobId, progress)
  }

  addLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    return jobData.addLog(this.#ctx, jobId, logRow, keepLogs)
  }

  clearLogs(jobId: string, keepLogs?: number): Promise<void> {
    return jobData.clearLogs(this.#ctx, jobId, keepLogs)
  }

  changeDelay(jobId: string, delay: number): Promise<void> {
    return jobData.changeDelay(this.#ctx, jobId, delay)
  }

  changePriority(jobId: string, priority?: number, lifo?: boolean): Promise<void> {
    return jobData.changePriority(this.#ctx, jobId, priority, lifo)
  }

  remove(jobId: string, removeChildren: boolean): Promise<number> {
    return jobData.remove(this.#ctx, jobId, removeChildren)
  }

  removeUnprocessedChildren(jobId: string): Promise<void> {
    return jobData.removeUnprocessedChildren(this.#ctx, jobId)
  }

  removeChildDependency(jobId: string, parentKey: string): Promise<boolean> {
    return jobData.removeChildDependency(this.#ctx, jobId, parentKey)
  }

  removeDeduplicationKey(deduplicationId: string, jobId: string): Promise<number> {
    return jobData.removeDeduplicationKey(this.#ctx, deduplicationId, jobId)
  }

  deleteDeduplicationKey(deduplicationId: string): Promise<number> {
    return jobData.deleteDeduplicationKey(this.#ctx, deduplicationId)
  }

  updateJobSchedulerNextMillis(
    jobSchedulerId: string,
    nextMillis: number,
    _templateData: string,
    delayedJobOpts: JobsOptions,
    producerId?: string,
  ): Promise<string | null> {
    return scheduling.updateJobSchedulerNextMillis(this.#ctx, jobSchedulerId, nextMillis, _templateData, delayedJobOpts, producerId)
  }

  removeJobScheduler(jobSchedulerId: string): Promise<number> {
    return scheduling.removeJobScheduler(this.#ctx, jobSchedulerId)
  }

  getJobScheduler(id: string): Promise<[string[] | null, string | null]> {
    return scheduling.getJobScheduler(this.#ctx, id)
  }

  isJobScheduler(id: string): Promise<boolean> {
    return scheduling.isJobScheduler(this.#ctx, id)
  }

  getJobSchedulerData(key: string): Promise<Record<string, string>> {
    return scheduling.getJobSchedulerData(this.#ctx, key)
  }

  getJobSchedulersRange(start: number, end: number, asc: boolean): Promise<string[]> {
    return scheduling.getJobSchedulersRange(this.#ctx, start, end, asc)
  }

  getJobSchedulersCount(): Promise<number> {
    return scheduling.getJobSchedulersCount(this.#ctx)
  }

  getState(jobId: string): Promise<JobState | 'unknown'> {
    return reading.getState(this.#ctx, jobId)
  }

  isFinished(jobId: string, returnValue?: boolean): Promise<number | [number, string]> {
    return reading.isFinished(this.#ctx, jobId, returnValue)
  }

  isMaxed(): Promise<boolean> {
    return reading.isMaxed(this.#ctx)
  }

  isJobInState(state: string, jobId: string): Promise<boolean> {
    return reading.isJobInState(this.#ctx, state, jobId)
  }

  getJobData(jobId: string): Promise<JobJson | undefined> {
    return reading.getJobData(this.#ctx, jobId)
  }

  getDeduplicationJobId(deduplicationId: string): Promise<string | null> {
    return reading.getDeduplicationJobId(this.#ctx, deduplicationId)
  }

  getJobLogs(jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
    return reading.getJobLogs(this.#ctx, jobId, start, end, asc)
  }

  getRateLimitTtl(maxJobs?: number): Promise<number> {
    return reading.getRateLimitTtl(this.#ctx, maxJobs)
  }

  getCounts(types: JobType[]): Promise<number[]> {
    return reading.getCounts(this.#ctx, types)
  }

  getCountsPerPriority(priorities: number[]): Promise<number[]> {
    return reading.getCountsPerPriority(this.#ctx, priorities)
  }

  getRanges(types: JobType[], start?: number, end?: number, asc?: boolean): Promise<[string][]> {
    return reading.getRanges(this.#ctx, types, start, end, asc)
  }

  getDependencyCounts(jobId: string, types: string[]): Promise<number[]> {
    return reading.getDependencyCounts(this.#ctx, jobId, types)
  }

  getDependencies(jobId: string, opts: DependenciesOpts): Promise<Dependencies> {
    return reading.getDependencies(this.#ctx, jobId, opts)
  }

  getProcessedChildrenValues(jobId: string): Promise<Record<string, string>> {
    return reading.getProcessedChildrenValues(this.#ctx, jobId)
  }

  getIgnoredChildrenFailures(jobId: string): Promise<Record<string, string>> {
    return reading.getIgnoredChildrenFailures(this.#ctx, jobId)
  }

  getMetrics(type: 'completed' | 'failed', start?: number, end?: number): Promise<[string[], string[], number]> {
    return reading.getMetrics(this.#ctx, type, start, end)
  }

  getClientList(): Promise<string[]> {
    return reading.getClientList(this.#ctx)
  }

  paginate(key: string, opts: { start: number; end: number; fetchJobs?: boolean }): Promise<Page> {
    return reading.paginate(this.#ctx, key, opts)
  }

  setQueueMeta(values: Record<string, string | number>): Promise<number> {
    return meta.setQueueMeta(this.#ctx, values)
  }

  getQueueMetaField(field: string): Promise<string | null> {
    return meta.getQueueMetaField(this.#ctx, field)
  }

  getQueueMetaFields(fields: string[]): Promise<(string | null)[]> {
    return meta.getQueueMetaFields(this.#ctx, fields)
  }

  getQueueMeta(): Promise<Record<string, string>> {
    return meta.getQueueMeta(this.#ctx)
  }

  removeQueueMetaFields(fields: string[]): Promise<number> {
    return meta.removeQueueMetaFields(this.#ctx, fields)
  }

  hasQueueMetaField(field: string): Promise<boolean> {
    return meta.hasQueueMetaField(this.#ctx, field)
  }

  setRateLimit(expireTimeMs: number): Promise<void> {
    return meta.setRateLimit(this.#ctx, expireTimeMs)
  }

  removeRateLimitKey(): Promise<number> {
    return meta.removeRateLimitKey(this.#ctx)
  }

  removeDeprecatedPriorityKey(): Promise<number> {
    return meta.removeDeprecatedPriorityKey()
  }

  trimEvents(maxLength: number): Promise<number> {
    return eventsBlocking.trimEvents(this.#ctx, maxLength)
  }

  publishEvent(fields: Record<string, string | number>, maxEvents: number): Promise<string> {
    return eventsBlocking.publishEvent(this.#ctx, fields, maxEvents)
  }

  readEvents(id: string, blockTimeout: number): Promise<StreamReadRaw> {
    return eventsBlocking.readEvents(this.#ctx, id, blockTimeout)
  }

  waitForJob(blockTimeout: number): Promise<{ member: string; score: number } | null> {
    return eventsBlocking.waitForJob(this.#ctx, blockTimeout)
  }

  disconnectBlocking(): Promise<void> {
    return eventsBlocking.disconnectBlocking(this.#ctx)
  }

  reconnectBlocking(): Promise<void> {
    return eventsBlocking.reconnectBlocking(this.#ctx)
  }
}
