import type { FinishedStatus, MinimalJob, MoveToDelayedOpts, MoveToWaitingChildrenOpts, RetryJobOpts, RetryOptions } from 'bullmq'
import * as transitions from '../transitions.js'
import type { ClaimResult } from '../claim.js'
import { check } from '../errors.js'
import type { BackendContext } from './context.js'

/** Moving a job between states outside a finish: delayed, waiting-children, back to wait, retried, promoted. */

export function moveToDelayed(
  c: BackendContext,
  jobId: string,
  timestamp: number,
  delay: number,
  token = '0',
  opts: MoveToDelayedOpts = {},
): Promise<ClaimResult | []> {
  return c.run((q) => {
    const result = transitions.moveToDelayed(q, {
      jobId,
      timestamp: c.store.fromJobTime(timestamp),
      delay,
      token,
      skipAttempt: opts.skipAttempt === true,
      ...(opts.fieldsToUpdate !== undefined ? { fields: opts.fieldsToUpdate } : {}),
      fetchNext: opts.fetchNext === true && c.closing === undefined,
      claim: c.claimOptions(token),
    })
    const out = check<0 | ClaimResult>(result, { jobId, command: 'moveToDelayed', state: 'active' })
    // Redis answers 0 when no next job was taken, which BullMQ's parser turns into [].
    return out === 0 ? [] : out
  })
}

export function moveToWaitingChildren(c: BackendContext, jobId: string, token: string, opts: MoveToWaitingChildrenOpts = {}): Promise<boolean> {
  const child = opts.child ? `${opts.child.queue}:${opts.child.id}` : ''
  return c.run((q) => {
    const result = transitions.moveToWaitingChildren(q, jobId, token, child)
    return check<number>(result, { jobId, command: 'moveToWaitingChildren', state: 'active' }) === 0
  })
}

export function moveJobFromActiveToWait(c: BackendContext, jobId: string, token = '0'): Promise<number> {
  return c.run((q) => check<number>(transitions.moveJobFromActiveToWait(q, jobId, token), { jobId, command: 'moveJobFromActiveToWait', state: 'active' }))
}

export function retryJob(c: BackendContext, jobId: string, lifo: boolean, token = '0', opts: RetryJobOpts = {}): Promise<void> {
  return c.run((q) => {
    check<number>(transitions.retryJob(q, jobId, lifo, token, opts.fieldsToUpdate), { jobId, command: 'retryJob', state: 'active' })
  })
}

export function retryFinishedJob<T = unknown, R = unknown, N extends string = string>(
  c: BackendContext,
  job: MinimalJob<T, R, N>,
  state: 'failed' | 'completed',
  opts: RetryOptions = {},
): Promise<void> {
  return c.run((q) => {
    check<number>(transitions.retryFinishedJob(q, job.id ?? '', state, job.opts?.lifo === true, opts), {
      jobId: job.id ?? '',
      command: 'reprocessJob',
      state,
    })
  })
}

export function promote(c: BackendContext, jobId: string): Promise<void> {
  return c.run((q) => {
    check<number>(transitions.promote(q, jobId), { jobId, command: 'promote', state: 'delayed' })
  })
}

export function retryFinishedJobs(c: BackendContext, state: FinishedStatus = 'failed', count = 1000, timestamp = Date.now()): Promise<number> {
  return c.run((q) => transitions.moveJobsToWait(q, state, count, timestamp))
}

export function promoteJobs(c: BackendContext, count = 1000): Promise<number> {
  return c.run((q) => transitions.moveJobsToWait(q, 'delayed', count, Number.MAX_VALUE))
}
