import type { KeepJobs, MinimalJob, WorkerOptions } from 'bullmq'
import * as claim from '../claim.js'
import * as locks from '../locks.js'
import type { ClaimResult } from '../claim.js'
import { check } from '../errors.js'
import { keepPolicy, moveToFinished } from '../finish.js'
import type { BackendContext } from './context.js'

/** Claiming a job and finishing it (completed or failed), and the locks held meanwhile. */

export function moveToActive(c: BackendContext, token: string, name?: string): Promise<ClaimResult> {
  return c.runUnsynced((q) => claim.moveToActive(q, c.claimOptions(token, name)))
}

export function moveToCompleted<T = unknown, R = unknown, N extends string = string>(
  c: BackendContext,
  job: MinimalJob<T, R, N>,
  returnValue: R,
  removeOnComplete: boolean | number | KeepJobs,
  token: string,
  fetchNext: boolean,
): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
  const value = JSON.stringify(returnValue)
  return finish(c, job, 'completed', value === undefined ? 'null' : value, removeOnComplete, token, fetchNext)
}

export function moveToFailed<T = unknown, R = unknown, N extends string = string>(
  c: BackendContext,
  job: MinimalJob<T, R, N>,
  failedReason: string,
  removeOnFail: boolean | number | KeepJobs,
  token: string,
  fetchNext: boolean,
  fieldsToUpdate?: Record<string, unknown>,
): Promise<{ result: undefined | ClaimResult | []; finishedOn: number }> {
  return finish(c, job, 'failed', failedReason ?? '', removeOnFail, token, fetchNext, fieldsToUpdate)
}

function finish(
  c: BackendContext,
  job: MinimalJob,
  target: 'completed' | 'failed',
  value: string,
  remove: boolean | number | KeepJobs | undefined,
  token: string,
  fetchNext: boolean,
  fieldsToUpdate?: Record<string, unknown>,
): Promise<{ result: ClaimResult | []; finishedOn: number }> {
  const o = c.opts as WorkerOptions
  const timestamp = Date.now()
  return c.run((q) => {
    const result = moveToFinished(q, {
      jobId: job.id ?? '',
      target,
      value,
      token,
      keep: keepPolicy(remove, target === 'completed' ? o.removeOnComplete : o.removeOnFail),
      attempts: job.opts?.attempts ?? 0,
      fetchNext: fetchNext && c.closing === undefined,
      claim: c.claimOptions(token),
      ...(o.metrics?.maxDataPoints ? { maxMetricsSize: o.metrics.maxDataPoints } : {}),
      ...(fieldsToUpdate !== undefined ? { fieldsToUpdate } : {}),
      timestamp,
    })
    return { result: check<ClaimResult | []>(result, { jobId: job.id ?? '', command: 'moveToFinished', state: 'active' }), finishedOn: timestamp }
  })
}

export function moveStalledJobsToWait(c: BackendContext): Promise<string[]> {
  const o = c.opts as WorkerOptions
  return c.run((q) => locks.moveStalledJobsToWait(q, o.maxStalledCount ?? 1, o.stalledInterval ?? 30_000))
}

export function extendLock(c: BackendContext, jobId: string, token: string, duration: number): Promise<number> {
  return c.runUnsynced((q) => locks.extendLock(q, jobId, token, duration))
}

export function extendLocks(c: BackendContext, jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
  return c.runUnsynced((q) => locks.extendLocks(q, jobIds, tokens, duration))
}
