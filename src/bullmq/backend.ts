import type {
  FinishedStatus,
  IQueueBackend,
  JobJson,
  JobProgress,
  JobsOptions,
  KeepJobs,
  MinimalJob,
  MoveToDelayedOpts,
  MoveToWaitingChildrenOpts,
  ParentKeyOpts,
  QueueBaseOptions,
  RepeatableOptions,
  RetryJobOpts,
  RetryOptions,
} from 'bullmq'
import { BackendQueries } from './backend-queries.js'
import type { ClaimResult } from './claim.js'
import * as adding from './commands/adding.js'
import * as claimFinish from './commands/claim-finish.js'
import * as jobData from './commands/job-data.js'
import * as meta from './commands/meta.js'
import * as moves from './commands/moves.js'
import * as queueControl from './commands/queue-control.js'
import * as scheduling from './commands/scheduling.js'

/**
 * BullMQ's `IQueueBackend` on a celeriac store. One instance per BullMQ class instance (Queue,
 * Worker, QueueEvents, FlowProducer...), all on the store's shared `QueueState`. Every
 * operation runs synchronously on the queue's state, so it is atomic as a Lua script is, then
 * writes what changed when the storage is durable. The class only delegates: each member is a
 * command of `commands/`, one file per concept, on the instance's `BackendContext`. Split by
 * concern: the connection (./backend-connection.ts), the reads (./backend-queries.ts), and here
 * what changes a queue: adds, claims and finishes, moves, queue control, job data, schedulers, meta.
 */
export class CeleriacQueueBackend extends BackendQueries implements IQueueBackend {
  forQueue(queueName: string, prefix?: string): IQueueBackend {
    const p = prefix ?? this.prefix
    return new CeleriacQueueBackend(this.store, queueName, p, { ...this.opts, prefix: p } as QueueBaseOptions, {}, false)
  }

  addJob(job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
    return adding.addJob(this.ctx, job, jobId, parentKeyOpts)
  }

  addJobs(entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
    return adding.addJobs(this.ctx, entries)
  }

  addFlow(
    entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
  ): Promise<[Error | null, string | number][]> {
    return adding.addFlow(this.ctx, entries)
  }

  addJobScheduler(
    jobSchedulerId: string,
    nextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedJobOpts: JobsOptions,
  ): Promise<[string, number]> {
    return scheduling.addJobScheduler(this.ctx, jobSchedulerId, nextMillis, templateData, templateOpts, opts, delayedJobOpts)
  }

  moveToActive(token: string, name?: string): Promise<ClaimResult> {
    return claimFinish.moveToActive(this.ctx, token, name)
  }

  moveToCompleted<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    returnValue: R,
    removeOnComplete: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    return claimFinish.moveToCompleted(this.ctx, job, returnValue, removeOnComplete, token, fetchNext)
  }

  moveToFailed<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    failedReason: string,
    removeOnFail: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, unknown>,
  ): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
    return claimFinish.moveToFailed(this.ctx, job, failedReason, removeOnFail, token, fetchNext, fieldsToUpdate)
  }

  moveToDelayed(jobId: string, timestamp: number, delay: number, token?: string, opts?: MoveToDelayedOpts): Promise<ClaimResult | []> {
    return moves.moveToDelayed(this.ctx, jobId, timestamp, delay, token, opts)
  }

  moveToWaitingChildren(jobId: string, token: string, opts?: MoveToWaitingChildrenOpts): Promise<boolean> {
    return moves.moveToWaitingChildren(this.ctx, jobId, token, opts)
  }

  moveJobFromActiveToWait(jobId: string, token?: string): Promise<number> {
    return moves.moveJobFromActiveToWait(this.ctx, jobId, token)
  }

  retryJob(jobId: string, lifo: boolean, token?: string, opts?: RetryJobOpts): Promise<void> {
    return moves.retryJob(this.ctx, jobId, lifo, token, opts)
  }

  retryFinishedJob<T = unknown, R = unknown, N extends string = string>(
    job: MinimalJob<T, R, N>,
    state: 'failed' | 'completed',
    opts?: RetryOptions,
  ): Promise<void> {
    return moves.retryFinishedJob(this.ctx, job, state, opts)
  }

  promote(jobId: string): Promise<void> {
    return moves.promote(this.ctx, jobId)
  }

  moveStalledJobsToWait(): Promise<string[]> {
    return claimFinish.moveStalledJobsToWait(this.ctx)
  }

  retryFinishedJobs(state?: FinishedStatus, count?: number, timestamp?: number): Promise<number> {
    return moves.retryFinishedJobs(this.ctx, state, count, timestamp)
  }

  promoteJobs(count?: number): Promise<number> {
    return moves.promoteJobs(this.ctx, count)
  }

  pause(pause: boolean): Promise<void> {
    return queueControl.pause(this.ctx, pause)
  }

  drain(delayed: boolean): Promise<void> {
    return queueControl.drain(this.ctx, delayed)
  }

  cleanJobsByState(state: string, timestamp: number, limit?: number): Promise<string[]> {
    return queueControl.cleanJobsByState(this.ctx, state, timestamp, limit)
  }

  obliterate(opts: { force: boolean; count: number }): Promise<number> {
    return queueControl.obliterate(this.ctx, opts)
  }

  removeOrphanedJobs(): Promise<number> {
    return queueControl.removeOrphanedJobs()
  }

  extendLock(jobId: string, token: string, duration: number): Promise<number> {
    return claimFinish.extendLock(this.ctx, jobId, token, duration)
  }

  extendLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    return claimFinish.extendLocks(this.ctx, jobIds, tokens, duration)
  }

  updateData<T = unknown, R = unknown, N extends string = string>(job: MinimalJob<T, R, N>, data: T): Promise<void> {
    return jobData.updateData(this.ctx, job, data)
  }

  updateProgress(jobId: string, progress: JobProgress): Promise<void> {
    return jobData.updateProgress(this.ctx, jobId, progress)
  }

  addLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    return jobData.addLog(this.ctx, jobId, logRow, keepLogs)
  }

  clearLogs(jobId: string, keepLogs?: number): Promise<void> {
    return jobData.clearLogs(this.ctx, jobId, keepLogs)
  }

  changeDelay(jobId: string, delay: number): Promise<void> {
    return jobData.changeDelay(this.ctx, jobId, delay)
  }

  changePriority(jobId: string, priority?: number, lifo?: boolean): Promise<void> {
    return jobData.changePriority(this.ctx, jobId, priority, lifo)
  }

  remove(jobId: string, removeChildren: boolean): Promise<number> {
    return jobData.remove(this.ctx, jobId, removeChildren)
  }

  removeUnprocessedChildren(jobId: string): Promise<void> {
    return jobData.removeUnprocessedChildren(this.ctx, jobId)
  }

  removeChildDependency(jobId: string, parentKey: string): Promise<boolean> {
    return jobData.removeChildDependency(this.ctx, jobId, parentKey)
  }

  removeDeduplicationKey(deduplicationId: string, jobId: string): Promise<number> {
    return jobData.removeDeduplicationKey(this.ctx, deduplicationId, jobId)
  }

  deleteDeduplicationKey(deduplicationId: string): Promise<number> {
    return jobData.deleteDeduplicationKey(this.ctx, deduplicationId)
  }

  updateJobSchedulerNextMillis(
    jobSchedulerId: string,
    nextMillis: number,
    _templateData: string,
    delayedJobOpts: JobsOptions,
    producerId?: string,
  ): Promise<string | null> {
    return scheduling.updateJobSchedulerNextMillis(this.ctx, jobSchedulerId, nextMillis, _templateData, delayedJobOpts, producerId)
  }

  removeJobScheduler(jobSchedulerId: string): Promise<number> {
    return scheduling.removeJobScheduler(this.ctx, jobSchedulerId)
  }

  setQueueMeta(values: Record<string, string | number>): Promise<number> {
    return meta.setQueueMeta(this.ctx, values)
  }

  removeQueueMetaFields(fields: string[]): Promise<number> {
    return meta.removeQueueMetaFields(this.ctx, fields)
  }

  setRateLimit(expireTimeMs: number): Promise<void> {
    return meta.setRateLimit(this.ctx, expireTimeMs)
  }

  removeRateLimitKey(): Promise<number> {
    return meta.removeRateLimitKey(this.ctx)
  }

  removeDeprecatedPriorityKey(): Promise<number> {
    return meta.removeDeprecatedPriorityKey()
  }
}
