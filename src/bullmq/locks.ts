import { ErrorCode } from './errors.js'
import type { JobRecord } from './job-record.js'
import type { QueueState } from './queue-state.js'

/**
 * Job locks and stalled-job recovery. A worker's token owns an active job's lock until it
 * expires (on the store's clock); every move out of active checks it first. Stall detection is
 * BullMQ's two phases: the active ids of one check become candidates, and a candidate found
 * without a lock at the next check is stalled.
 */

function liveLock(q: QueueState, job: JobRecord): { token: string; until: number } | undefined {
  const lock = job.lock
  if (lock === undefined) return undefined
  if (lock.until <= q.ttlNow()) {
    delete job.lock
    return undefined
  }
  return lock
}

/** BullMQ's removeLock: 0 when `token` owns the lock (now released) or is "0"; -2 / -6 otherwise. */
export function checkLock(q: QueueState, job: JobRecord, token: string): number {
  if (token === '0') return 0
  const lock = liveLock(q, job)
  if (lock === undefined) return ErrorCode.JobLockNotExist
  if (lock.token !== token) return ErrorCode.JobLockMismatch
  delete job.lock
  q.stalled.delete(job.id)
  return 0
}

export function isLocked(q: QueueState, job: JobRecord): boolean {
  return liveLock(q, job) !== undefined
}

export function extendLock(q: QueueState, jobId: string, token: string, duration: number): number {
  const job = q.jobs.get(jobId)
  if (job === undefined) return 0
  const lock = liveLock(q, job)
  if (lock === undefined || lock.token !== token) return 0
  job.lock = { token, until: q.ttlNow() + duration }
  q.stalled.delete(jobId)
  return 1
}

/** Renews each lock its token still owns; returns the ids it could not renew. */
export function extendLocks(q: QueueState, jobIds: readonly string[], tokens: readonly string[], duration: number): string[] {
  const failed: string[] = []
  for (let i = 0; i < jobIds.length; i++) {
    const id = jobIds[i]!
    if (extendLock(q, id, tokens[i] ?? '', duration) !== 1) failed.push(id)
  }
  return failed
}

/**
 * BullMQ's moveStalledJobsToWait: at most once per `stalledInterval` across all workers;
 * unlocked candidates go back to wait (failed later, when picked, past `maxStalledCount`).
 */
export function moveStalledJobsToWait(q: QueueState, maxStalledCount: number, stalledInterval: number): string[] {
  const now = q.ttlNow()
  if (q.stalledCheckUntil > now) return []
  q.stalledCheckUntil = now + stalledInterval
  const stalled: string[] = []
  const candidates = [...q.stalled]
  q.stalled.clear()
  for (const id of candidates) {
    const job = q.jobs.get(id)
    if (job === undefined || isLocked(q, job)) continue
    if (!q.active.remove(id)) continue
    job.stalledCounter++
    const scheduler = job.repeatJobKey !== undefined && q.schedulers.has(job.repeatJobKey)
    if (job.stalledCounter > maxStalledCount && !scheduler) job.deferredFailure = 'job stalled more than allowable limit'
    q.addToWait(job, true)
    q.emit({ event: 'waiting', jobId: id, prev: 'active' })
    q.emit({ event: 'stalled', jobId: id })
    stalled.push(id)
  }
  for (const id of q.active.toArray()) q.stalled.add(id)
  return stalled
}
