import type { JobsOptions } from 'bullmq'
import { type AddInput, storeJob } from './add.js'
import { setDedup } from './dedup.js'
import { addDependency, resolveParent } from './parents.js'
import type { QueueState } from './queue-state.js'

/**
 * keepLastIfActive: when the job holding a deduplication id finishes, the last duplicate kept
 * meanwhile is added in the same step (BullMQ's requeueDeduplicatedJob).
 */
export function requeueDeduplicated(q: QueueState, dedupId: string): void {
  const next = q.dedupNext.get(dedupId)
  if (next === undefined) return
  q.dedupNext.delete(dedupId)
  q.idCounter++
  const jobId = next.jobId ?? String(q.idCounter)
  const opts = next.opts as JobsOptions
  const de = opts.deduplication
  if (de?.keepLastIfActive) setDedup(q, dedupId, jobId, undefined)
  else setDedup(q, dedupId, jobId, de)
  const input: AddInput = { name: next.name, data: next.data, opts, timestamp: q.store.toCallerTime(q.now()) }
  if (next.parentKey !== undefined) input.parentKey = next.parentKey
  if (next.parent !== undefined) input.parent = next.parent
  if (next.repeatJobKey !== undefined) input.repeatJobKey = next.repeatJobKey
  const job = storeJob(q, jobId, input)
  const delay = typeof opts.delay === 'number' ? opts.delay : 0
  if (delay !== 0) {
    const due = q.addDelayed(job, q.now() + delay)
    q.emit({ event: 'delayed', jobId, delay: q.store.toCallerTime(due) })
  } else {
    q.enqueue(job, opts.lifo === true)
    q.emit({ event: 'waiting', jobId })
  }
  if (next.parentDependenciesKey !== undefined && next.parentKey !== undefined) {
    const parent = resolveParent(q.store, next.parentKey, next.parent?.queueKey)
    if (parent !== undefined) addDependency(parent, q.nodeKey(jobId))
  }
  q.touchQueue()
}
