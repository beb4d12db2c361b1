import type { RetryOptions } from 'bullmq'
import { type ClaimOptions, type ClaimResult, fetchNext, promoteDelayed } from './claim.js'
import { ErrorCode } from './errors.js'
import { updateFields } from './job-record.js'
import { limiterPttl } from './limiter.js'
import { checkLock } from './locks.js'
import { resolveParent } from './parents.js'
import type { QueueState } from './queue-state.js'

/**
 * The moves between states other than claim and finish: retry now, retry later (delayed),
 * wait for children, give back to wait (manual rate limit), retry a finished job, promote,
 * change delay or priority. Each returns 0 (or a value) or a negative BullMQ code.
 */

export function retryJob(q: QueueState, jobId: string, lifo: boolean, token: string, fields?: Record<string, unknown>): number {
  promoteDelayed(q)
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  const lock = checkLock(q, job, token)
  if (lock < 0) return lock
  updateFields(job, fields)
  if (!q.active.remove(jobId)) return ErrorCode.JobNotInState
  if (job.priority === 0) q.addToWait(job, lifo)
  else q.addWithPriority(job, job.priority)
  job.attemptsMade++
  q.touch(job)
  q.emit({ event: 'waiting', jobId, prev: 'active' })
  return 0
}

export interface DelayInput {
  jobId: string
  /** When the delay counts from, on the store's clock. */
  timestamp: number
  delay: number
  token: string
  skipAttempt: boolean
  fields?: Record<string, unknown>
  fetchNext: boolean
  claim: ClaimOptions
}

export function moveToDelayed(q: QueueState, input: DelayInput): number | ClaimResult {
  const job = q.jobs.get(input.jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  const lock = checkLock(q, job, input.token)
  if (lock < 0) return lock
  updateFields(job, input.fields)
  if (!q.active.remove(job.id)) return ErrorCode.JobNotInState
  if (!input.skipAttempt) job.attemptsMade++
  job.delay = input.delay
  const due = q.addDelayed(job, input.delay > 0 ? input.timestamp + input.delay : input.timestamp)
  q.emit({ event: 'delayed', jobId: job.id, delay: q.store.toCallerTime(due) })
  if (input.fetchNext) {
    const next = fetchNext(q, input.claim)
    if (next !== undefined && next[0] !== 0) return next
  }
  return 0
}

/** 0 moved to waiting-children, 1 nothing pending (go on), or a negative code. */
export function moveToWaitingChildren(q: QueueState, jobId: string, token: string, childKey: string): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  if ((job.unsuccessful?.size ?? 0) > 0) return ErrorCode.JobHasFailedChildren
  const pending = childKey !== '' ? job.deps?.has(childKey) === true : (job.deps?.size ?? 0) > 0
  if (!pending) return 1
  const lock = checkLock(q, job, token)
  if (lock < 0) return lock
  if (!q.active.remove(jobId)) return ErrorCode.JobNotInState
  job.state = 'waiting-children'
  q.waitingChildren.add(jobId, q.store.toCallerTime(q.now()))
  q.touch(job)
  q.emit({ event: 'waiting-children', jobId, prev: 'active' })
  return 0
}

/** Manual rate limit: back to wait without using an attempt; answers the limiter's ttl. */
export function moveJobFromActiveToWait(q: QueueState, jobId: string, token: string): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  const lock = checkLock(q, job, token)
  if (lock < 0) return lock
  if (q.active.remove(jobId)) {
    if (job.priority > 0) {
      job.state = 'prioritized'
      q.prioritized.add(jobId, job.priority * 0x1_0000_0000)
      q.touch(job)
      q.wake()
    } else q.addToWait(job, true)
    q.emit({ event: 'waiting', jobId, prev: 'active' })
  }
  const pttl = limiterPttl(q)
  return Math.max(pttl, 0)
}

/** `job.retry()`: a finished job back to wait. */
export function retryFinishedJob(q: QueueState, jobId: string, state: 'completed' | 'failed', lifo: boolean, opts: RetryOptions): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  const set = state === 'completed' ? q.completed : q.failed
  if (!set.remove(jobId)) return ErrorCode.JobNotInState
  if (opts.resetAttemptsMade) job.attemptsMade = 0
  if (opts.resetAttemptsStarted) job.attemptsStarted = 0
  delete job.finishedOn
  delete job.processedOn
  if (state === 'completed') delete job.returnvalue
  else delete job.failedReason
  q.addToWait(job, lifo)
  const parent = job.parentKey !== undefined ? resolveParent(q.store, job.parentKey, job.parent?.queueKey) : undefined
  if (parent !== undefined) {
    const key = q.nodeKey(jobId)
    const p = parent.job
    const back = state === 'failed' ? p.unsuccessful?.delete(key) === true || p.failedChildren?.delete(key) === true : p.processed?.delete(key) === true
    if (back) {
      ;(p.deps ??= new Set()).add(key)
      parent.queue.touch(p)
    }
  }
  q.emit({ event: 'waiting', jobId, prev: state })
  return 1
}

/** `queue.retryJobs()` / `queue.promoteJobs()`: up to `count` jobs of a set finished (or due) by `timestamp` back to wait; 1 when more are left. */
export function moveJobsToWait(q: QueueState, state: 'completed' | 'failed' | 'delayed', count: number, timestamp: number): number {
  const set = state === 'completed' ? q.completed : state === 'failed' ? q.failed : q.delayed
  const ids = set.rangeByScore(0, state === 'delayed' ? Number.MAX_VALUE : timestamp, count)
  for (const id of ids) {
    const job = q.jobs.get(id)
    set.remove(id)
    if (job === undefined) continue
    delete job.finishedOn
    delete job.processedOn
    if (state === 'failed') delete job.failedReason
    else if (state === 'completed') delete job.returnvalue
    q.emit({ event: 'waiting', jobId: id, prev: state })
    q.addToWait(job)
  }
  return count - ids.length <= 0 ? 1 : 0
}

export function promote(q: QueueState, jobId: string): number {
  if (!q.delayed.remove(jobId)) return ErrorCode.JobNotInState
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotInState
  if (job.priority === 0) q.addToWait(job)
  else q.addWithPriority(job, job.priority)
  job.delay = 0
  q.emit({ event: 'waiting', jobId, prev: 'delayed' })
  return 0
}

export function changeDelay(q: QueueState, jobId: string, delay: number): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  if (!q.delayed.remove(jobId)) return ErrorCode.JobNotInState
  job.delay = delay
  const due = q.addDelayed(job, q.now() + delay)
  q.emit({ event: 'delayed', jobId, delay: q.store.toCallerTime(due) })
  return 0
}

export function changePriority(q: QueueState, jobId: string, priority: number, lifo: boolean): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return ErrorCode.JobNotExist
  const wasReady = q.prioritized.remove(jobId) || q.wait.remove(jobId)
  job.priority = priority
  if (wasReady) {
    if (priority === 0) q.addToWait(job, lifo)
    else if (lifo) {
      job.state = 'prioritized'
      q.prioritized.add(jobId, priority * 0x1_0000_0000)
      q.wake()
    } else q.addWithPriority(job, priority)
  }
  q.touch(job)
  return 0
}
