import { releaseDedup } from './dedup.js'
import { ErrorCode } from './errors.js'
import type { JobRecord } from './job-record.js'
import { isLocked } from './locks.js'
import { removeDependency } from './parents.js'
import type { QueueHost, QueueState } from './queue-state.js'

/**
 * Removing jobs: one record, a job with its children (`job.remove()`), and the queue-wide sweeps
 * (drain, clean, obliterate), following BullMQ's removeJob / removeJobWithChildren / drain /
 * cleanJobsInSet / obliterate scripts.
 */

/** Drops a job's record and its state entry (Redis' removeJobKeys plus the set it is in). */
export function removeJobRecord(q: QueueState, job: JobRecord, fromState = true): void {
  if (fromState) q.removeFromState(job)
  q.stalled.delete(job.id)
  q.jobs.delete(job.id)
  q.touch(job)
}

/** The id of the pending iteration of the scheduler a job belongs to. */
function isSchedulerIteration(q: QueueState, job: JobRecord): boolean {
  if (job.repeatJobKey === undefined) return false
  const next = q.schedulerTimes.score(job.repeatJobKey)
  return next !== undefined && job.id === `repeat:${job.repeatJobKey}:${next}`
}

function lockedTree(store: QueueHost, q: QueueState, job: JobRecord, children: boolean): boolean {
  if (isLocked(q, job)) return true
  if (!children || job.deps === undefined) return false
  for (const key of job.deps) {
    const node = store.node(key)
    if (node?.job !== undefined && lockedTree(store, node.queue, node.job, children)) return true
  }
  return false
}

/** `job.remove()`: 1 removed, 0 locked, -8 a scheduler's pending iteration. */
export function removeJob(q: QueueState, jobId: string, removeChildren: boolean): number {
  const job = q.jobs.get(jobId)
  if (job !== undefined && isSchedulerIteration(q, job)) return ErrorCode.JobBelongsToJobScheduler
  if (job !== undefined && lockedTree(q.store, q, job, removeChildren)) return 0
  removeWithChildren(q, jobId, undefined, { removeChildren, ignoreProcessed: false, ignoreLocked: false })
  return 1
}

interface TreeOptions {
  removeChildren: boolean
  ignoreProcessed: boolean
  ignoreLocked: boolean
}

export function removeWithChildren(q: QueueState, jobId: string, parentKey: string | undefined, options: TreeOptions): void {
  const job = q.jobs.get(jobId)
  if (job !== undefined && options.ignoreLocked && isLocked(q, job)) return
  if (options.ignoreProcessed && job?.state === 'failed') return
  const key = q.nodeKey(jobId)
  if (job !== undefined) {
    removeDependency(q.store, key, parentKey ?? job.parentKey, false, q)
    if (options.removeChildren) removeChildren(q.store, job, key, options)
    const prev = job.state
    releaseDedup(q, job.deduplicationId, jobId, false)
    removeJobRecord(q, job)
    q.emit({ event: 'removed', jobId, prev })
  }
}

function removeChildren(store: QueueHost, job: JobRecord, key: string, options: TreeOptions): void {
  const keys: string[] = []
  if (!options.ignoreProcessed) {
    if (job.processed) keys.push(...job.processed.keys())
    if (job.failedChildren) keys.push(...job.failedChildren.keys())
    if (job.unsuccessful) keys.push(...job.unsuccessful.keys())
  }
  if (job.deps) keys.push(...job.deps)
  for (const childKey of keys) {
    const node = store.node(childKey)
    if (node === undefined) continue
    removeWithChildren(node.queue, node.id, key, options)
  }
}

/** Plain removal of many jobs (drain, obliterate, clean): parents updated, no events. */
export function removeQuietly(q: QueueState, job: JobRecord, hard: boolean): void {
  removeDependency(q.store, q.nodeKey(job.id), job.parentKey, hard, q)
  releaseDedup(q, job.deduplicationId, job.id, false)
  removeJobRecord(q, job)
}

/** `queue.drain(delayed)`: wait and prioritized (and delayed) emptied, schedulers' iterations kept. */
export function drain(q: QueueState, delayed: boolean): void {
  const keep = new Set<string>()
  for (const [id, millis] of q.schedulerTimes.entries()) keep.add(`repeat:${id}:${millis}`)
  const ids = [...q.wait.toArray(), ...q.prioritized.members(), ...(delayed ? q.delayed.members() : [])]
  for (const id of ids) {
    if (keep.has(id)) continue
    const job = q.jobs.get(id)
    if (job === undefined) {
      q.wait.remove(id)
      continue
    }
    removeQuietly(q, job, true)
  }
}

/** `queue.clean(grace, limit, state)`: ids removed, oldest first. */
export function clean(q: QueueState, state: string, timestamp: number, limit: number): string[] {
  const deleted: string[] = []
  const full = () => limit > 0 && deleted.length >= limit
  const take = (job: JobRecord) => {
    removeQuietly(q, job, true)
    deleted.push(job.id)
  }
  const stampOf = (job: JobRecord, fields: Array<'finishedOn' | 'processedOn' | 'timestamp'>): number | undefined => {
    for (const f of fields) if (job[f] !== undefined) return job[f]
    return undefined
  }
  if (state === 'active' || state === 'wait' || state === 'paused') {
    const list = state === 'active' ? q.active : q.wait
    let ids = list.toArray()
    if (limit > 0) ids = ids.slice(Math.max(0, ids.length - limit))
    for (const id of ids) {
      if (full()) break
      const job = q.jobs.get(id)
      if (job === undefined) continue
      if (state === 'active' && isLocked(q, job)) continue
      if (isSchedulerIteration(q, job)) continue
      const ts = stampOf(job, ['finishedOn', 'processedOn', 'timestamp'])
      if (ts === undefined || ts <= timestamp) take(job)
    }
  } else if (state === 'delayed' || state === 'prioritized') {
    const set = state === 'delayed' ? q.delayed : q.prioritized
    let ids = set.members()
    if (limit > 0) ids = ids.slice(0, limit)
    for (const id of ids) {
      if (full()) break
      const job = q.jobs.get(id)
      if (job === undefined) continue
      if (isSchedulerIteration(q, job)) continue
      const ts = stampOf(job, state === 'delayed' ? ['processedOn', 'timestamp'] : ['timestamp'])
      if (ts === undefined || ts <= timestamp) take(job)
    }
  } else {
    const set = state === 'completed' ? q.completed : state === 'failed' ? q.failed : state === 'waiting-children' ? q.waitingChildren : undefined
    if (set !== undefined) {
      const ids = set.rangeByScore(0, timestamp, limit > 0 ? limit : Number.POSITIVE_INFINITY)
      for (const id of ids) {
        if (full()) break
        const job = q.jobs.get(id)
        if (job === undefined) set.remove(id)
        else take(job)
      }
    }
  }
  q.emit({ event: 'cleaned', count: deleted.length })
  return deleted
}

/** `queue.obliterate()`: -1 not paused, -2 active jobs without force; 1 more to do, 0 done. */
export function obliterate(q: QueueState, count: number, force: boolean): number {
  if (!q.isPaused()) return -1
  let max = count
  const active = q.active.toArray().slice(0, max)
  if (active.length > 0 && !force) return -2
  const sweep = (ids: string[]): void => {
    for (const id of ids) {
      const job = q.jobs.get(id)
      if (job === undefined) continue
      delete job.lock
      removeQuietly(q, job, true)
    }
    max -= ids.length
  }
  sweep(active)
  if (max <= 0) return 1
  sweep(q.delayed.range(0, max - 1))
  if (max <= 0) return 1
  const schedulers = q.schedulerTimes.range(0, max - 1)
  for (const id of schedulers) {
    q.schedulers.delete(id)
    q.schedulerTimes.remove(id)
  }
  max -= schedulers.length
  if (max <= 0) return 1
  for (const ids of [
    () => q.completed.range(0, max - 1),
    () => q.wait.range(0, max - 1),
    () => q.prioritized.range(0, max - 1),
    () => q.failed.range(0, max - 1),
  ]) {
    sweep(ids())
    if (max <= 0) return 1
  }
  // waiting-children are not swept by BullMQ either; what is left of the queue goes.
  for (const job of [...q.jobs.values()]) removeJobRecord(q, job)
  q.reset()
  return 0
}
