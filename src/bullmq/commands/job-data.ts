import type { JobProgress, MinimalJob } from 'bullmq'
import * as transitions from '../transitions.js'
import { dedupOwner } from '../dedup.js'
import { check, ErrorCode, finishedError } from '../errors.js'
import { clone } from '../job-record.js'
import { removeDependency } from '../parents.js'
import { removeJob, removeWithChildren } from '../removal.js'
import type { BackendContext } from './context.js'

/** A job's own data: data, progress, logs, delay, priority, removal, its dependencies and dedup keys. */

export function updateData<T = unknown, R = unknown, N extends string = string>(c: BackendContext, job: MinimalJob<T, R, N>, data: T): Promise<void> {
  const json = JSON.stringify(data)
  return c.run((q) => {
    const rec = q.jobs.get(job.id ?? '')
    if (rec === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId: job.id ?? '', command: 'updateData' })
    rec.data = json === undefined ? '{}' : json
    q.touch(rec)
  })
}

export function updateProgress(c: BackendContext, jobId: string, progress: JobProgress): Promise<void> {
  const json = JSON.stringify(progress)
  return c.run((q) => {
    const rec = q.jobs.get(jobId)
    if (rec === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId, command: 'updateProgress' })
    rec.progress = clone(progress)
    q.touch(rec)
    q.emit({ event: 'progress', jobId, data: json })
  })
}

export function addLog(c: BackendContext, jobId: string, logRow: string, keepLogs?: number): Promise<number> {
  return c.run((q) => {
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

export function clearLogs(c: BackendContext, jobId: string, keepLogs?: number): Promise<void> {
  return c.run((q) => {
    const rec = q.jobs.get(jobId)
    if (rec === undefined) return
    rec.logs = keepLogs ? rec.logs.slice(-keepLogs) : []
    q.touch(rec)
  })
}

export function changeDelay(c: BackendContext, jobId: string, delay: number): Promise<void> {
  return c.run((q) => {
    check<number>(transitions.changeDelay(q, jobId, delay), { jobId, command: 'changeDelay', state: 'delayed' })
  })
}

export function changePriority(c: BackendContext, jobId: string, priority = 0, lifo = false): Promise<void> {
  return c.run((q) => {
    check<number>(transitions.changePriority(q, jobId, priority, lifo), { jobId, command: 'changePriority' })
  })
}

export function remove(c: BackendContext, jobId: string, removeChildren: boolean): Promise<number> {
  return c.run((q) => check<number>(removeJob(q, jobId, removeChildren), { jobId, command: 'removeJob' }))
}

export function removeUnprocessedChildren(c: BackendContext, jobId: string): Promise<void> {
  return c.run((q) => {
    const job = q.jobs.get(jobId)
    if (job?.deps === undefined) return
    const key = q.nodeKey(jobId)
    for (const childKey of [...job.deps]) {
      const node = c.store.node(childKey)
      if (node?.job === undefined) continue
      const state = node.job.state
      if (state === 'active' || state === 'completed' || state === 'failed') continue
      removeWithChildren(node.queue, node.id, key, { removeChildren: true, ignoreProcessed: true, ignoreLocked: true })
    }
  })
}

export function removeChildDependency(c: BackendContext, jobId: string, parentKey: string): Promise<boolean> {
  return c.run((q) => {
    const job = q.jobs.get(jobId)
    if (job === undefined) throw finishedError({ code: ErrorCode.JobNotExist, jobId, parentKey, command: 'removeChildDependency' })
    if (job.parentKey === undefined) return false
    if (c.store.node(parentKey)?.job === undefined)
      throw finishedError({ code: ErrorCode.ParentJobNotExist, jobId, parentKey, command: 'removeChildDependency' })
    if (!removeDependency(c.store, q.nodeKey(jobId), parentKey, false, q)) return false
    delete job.parentKey
    delete job.parent
    q.touch(job)
    return true
  })
}

export function removeDeduplicationKey(c: BackendContext, deduplicationId: string, jobId: string): Promise<number> {
  return c.run((q) => {
    if (dedupOwner(q, deduplicationId) !== jobId) return 0
    q.dedup.delete(deduplicationId)
    q.touchQueue()
    return 1
  })
}

export function deleteDeduplicationKey(c: BackendContext, deduplicationId: string): Promise<number> {
  return c.run((q) => {
    const had = dedupOwner(q, deduplicationId) !== undefined
    q.dedup.delete(deduplicationId)
    q.touchQueue()
    return had ? 1 : 0
  })
}
