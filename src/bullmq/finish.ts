import type { KeepJobs } from 'bullmq'
import { type ClaimOptions, type ClaimResult, fetchNext } from './claim.js'
import { releaseDedup } from './dedup.js'
import { requeueDeduplicated } from './dedup-next.js'
import { ErrorCode } from './errors.js'
import { updateFields } from './job-record.js'
import { checkLock } from './locks.js'
import { recordMetrics } from './metrics.js'
import { childCompleted, childFailed, parentOf, removeDependency } from './parents.js'
import type { QueueState } from './queue-state.js'
import { removeJobRecord } from './removal.js'

/**
 * Finishing a job and, in the same step, claiming the next (BullMQ's moveToFinished): checks,
 * lock release, the completed/failed set with its keep policy, deduplication, the parent's
 * bookkeeping, events, metrics, `drained`.
 */
export interface FinishInput {
  jobId: string
  target: 'completed' | 'failed'
  /** The return value (JSON text) or the failed reason. */
  value: string
  token: string
  keep: Keep
  attempts: number
  fetchNext: boolean
  claim: ClaimOptions
  maxMetricsSize?: number
  fieldsToUpdate?: Record<string, unknown>
  /** Finish time on the caller's frame (`Date.now()`). */
  timestamp: number
}

export function moveToFinished(q: QueueState, input: FinishInput): ClaimResult | [] | number {
  const job = q.jobs.get(input.jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  if (input.target === 'completed') {
    if ((job.deps?.size ?? 0) > 0) return ErrorCode.JobPendingChildren
    if ((job.unsuccessful?.size ?? 0) > 0) return ErrorCode.JobHasFailedChildren
  }
  const lock = checkLock(q, job, input.token)
  if (lock < 0) return lock
  updateFields(job, input.fieldsToUpdate)
  if (!q.active.remove(job.id)) return ErrorCode.JobNotInState
  q.stalled.delete(job.id)
  releaseDedup(q, job.deduplicationId, job.id, true)
  if (job.deduplicationId !== undefined) requeueDeduplicated(q, job.deduplicationId)

  const jobKey = q.nodeKey(job.id)
  const parent = parentOf(q.store, job)
  if (parent !== undefined) {
    if (input.target === 'completed') childCompleted(parent, jobKey, input.value)
    else childFailed(parent, job, jobKey, input.value)
  }
  job.attemptsMade++
  const attemptsMade = job.attemptsMade
  const maxCount = input.keep.count
  if (maxCount !== 0) {
    const set = input.target === 'completed' ? q.completed : q.failed
    job.state = input.target
    set.add(job.id, input.timestamp)
    if (input.target === 'completed') job.returnvalue = input.value
    else {
      job.failedReason = input.value
      delete job.deferredFailure
    }
    job.finishedOn = input.timestamp
    q.touch(job)
    if (input.keep.age !== undefined) removeByMaxAge(q, set, input.timestamp, input.keep.age, input.keep.limit ?? 1000)
    if (maxCount !== undefined && maxCount > 0) removeByMaxCount(q, set, maxCount)
  } else {
    removeJobRecord(q, job, false)
    if (job.parentKey !== undefined) removeDependency(q.store, jobKey, job.parentKey, false, q)
  }
  const field = input.target === 'completed' ? 'returnvalue' : 'failedReason'
  q.emit({ event: input.target, jobId: job.id, [field]: input.value, prev: 'active' })
  if (input.target === 'failed' && attemptsMade >= input.attempts) q.emit({ event: 'retries-exhausted', jobId: job.id, attemptsMade })
  if (input.maxMetricsSize !== undefined && input.maxMetricsSize > 0) recordMetrics(q, input.target, input.maxMetricsSize, input.timestamp)
  if (input.fetchNext) {
    const next = fetchNext(q, input.claim)
    if (next !== undefined) return next
  }
  emitDrainedIfEmpty(q)
  return []
}

function emitDrainedIfEmpty(q: QueueState): void {
  if (q.wait.length === 0 && q.active.length === 0 && q.prioritized.size === 0) q.emit({ event: 'drained' })
}

function removeByMaxAge(q: QueueState, set: QueueState['completed'], now: number, maxAgeSec: number, limit: number): void {
  const start = now - maxAgeSec * 1000
  const ids = set.rangeByScore(Number.NEGATIVE_INFINITY, start).reverse().slice(0, limit)
  for (const id of ids) {
    const job = q.jobs.get(id)
    set.remove(id)
    if (job !== undefined) removeJobRecord(q, job, false)
  }
}

function removeByMaxCount(q: QueueState, set: QueueState['completed'], maxCount: number): void {
  const ids = set.range(maxCount, -1, true)
  for (const id of ids) {
    const job = q.jobs.get(id)
    set.remove(id)
    if (job !== undefined) removeJobRecord(q, job, false)
  }
}

/** BullMQ's getKeepJobs: the job's own option, else the worker's, as `{ count, age, limit }`. */
/** A keep policy, every form of BullMQ's KeepJobs in one shape. */
export interface Keep {
  count?: number
  age?: number
  limit?: number
}

export function keepPolicy(shouldRemove: boolean | number | KeepJobs | undefined, workerKeep: boolean | number | KeepJobs | undefined): Keep {
  if (shouldRemove === undefined) {
    if (workerKeep === undefined) return { count: -1 }
    return keepPolicy(workerKeep, undefined)
  }
  if (typeof shouldRemove === 'object') return shouldRemove as Keep
  if (typeof shouldRemove === 'number') return { count: shouldRemove }
  return { count: shouldRemove ? 0 : -1 }
}
