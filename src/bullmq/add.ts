import type { JobJson, JobsOptions, ParentKeyOpts, ParentKeys } from 'bullmq'
import { deduplicate } from './dedup.js'
import { ErrorCode } from './errors.js'
import { clone, type JobRecord } from './job-record.js'
import { addDependency, childCompleted, type ParentRef, resolveParent } from './parents.js'
import type { QueueState } from './queue-state.js'
import { removeJobRecord } from './removal.js'

/**
 * Adding one job, atomically (BullMQ's addStandardJob / addDelayedJob / addPrioritizedJob /
 * addParentJob): id from the queue's counter, duplicates of a custom id, deduplication, the
 * parent's dependency, then wait, prioritized, delayed or waiting-children. Returns the id, or
 * a negative error code.
 */
export interface AddInput {
  name: string
  data: string
  opts: JobsOptions
  timestamp: number
  parentKey?: string
  parent?: ParentKeys
  parentDependenciesKey?: string
  repeatJobKey?: string
  addToWaitingChildren?: boolean
  /** Progress and counters carried by the JobJson (normally zero). */
  progress?: unknown
}

export function inputFromJson(job: JobJson, parentKeyOpts: ParentKeyOpts | undefined): AddInput {
  const input: AddInput = {
    name: job.name,
    data: job.data ?? '{}',
    opts: clone(job.opts ?? {}),
    timestamp: job.timestamp ?? Date.now(),
  }
  const parentKey = job.parentKey ?? parentKeyOpts?.parentKey
  if (parentKey) input.parentKey = parentKey
  if (job.parent !== undefined) input.parent = { ...job.parent }
  if (parentKeyOpts?.parentDependenciesKey) input.parentDependenciesKey = parentKeyOpts.parentDependenciesKey
  if (job.repeatJobKey !== undefined) input.repeatJobKey = job.repeatJobKey
  if (parentKeyOpts?.addToWaitingChildren) input.addToWaitingChildren = true
  if (job.progress !== undefined && job.progress !== 0) input.progress = job.progress
  return input
}

export function addJob(q: QueueState, input: AddInput, customId: string): string | number {
  const store = q.store
  let parent: ParentRef | undefined
  if (input.parentKey !== undefined) {
    parent = resolveParent(store, input.parentKey, input.parent?.queueKey)
    if (parent === undefined) return ErrorCode.ParentJobNotExist
  }
  q.idCounter++
  q.touchQueue()
  const jobId = customId === '' ? String(q.idCounter) : customId
  const existing = customId === '' ? undefined : q.jobs.get(jobId)
  if (existing !== undefined) return duplicated(q, existing, input, parent)

  const de = input.opts.deduplication
  const jobKey = q.nodeKey(jobId)
  const delay = typeof input.opts.delay === 'number' && input.opts.delay > 0 ? input.opts.delay : 0
  const dup = {
    jobId,
    name: input.name,
    data: input.data,
    opts: input.opts as Record<string, unknown>,
    ...(input.parentKey !== undefined ? { parentKey: input.parentKey } : {}),
    ...(input.parent !== undefined ? { parent: input.parent } : {}),
    ...(input.parentDependenciesKey !== undefined ? { parentDependenciesKey: input.parentDependenciesKey } : {}),
    ...(input.repeatJobKey !== undefined ? { repeatJobKey: input.repeatJobKey } : {}),
  }
  const kept = deduplicate(q, input.addToWaitingChildren ? (de === undefined ? undefined : { ...de, replace: false }) : de, dup, (current) => {
    const job = q.jobs.get(current)
    if (job === undefined || job.state !== 'delayed') return false
    removeJobRecord(q, job)
    q.emit({ event: 'removed', jobId: current, prev: 'delayed' })
    return true
  })
  if (kept !== undefined) return kept

  const job = storeJob(q, jobId, input)
  if (input.addToWaitingChildren) {
    job.state = 'waiting-children'
    q.waitingChildren.add(jobId, input.timestamp)
    q.emit({ event: 'waiting-children', jobId })
  } else if (delay > 0) {
    const due = q.addDelayed(job, q.store.fromJobTime(input.timestamp) + delay)
    q.emit({ event: 'delayed', jobId, delay: due })
  } else {
    if (job.priority > 0) q.addWithPriority(job, job.priority)
    else q.addToWait(job, input.opts.lifo === true)
    q.emit({ event: 'waiting', jobId })
  }
  if (parent !== undefined && input.parentDependenciesKey !== undefined) addDependency(parent, jobKey)
  return jobId
}

/** Writes the record and the `added` event. */
export function storeJob(q: QueueState, jobId: string, input: AddInput): JobRecord {
  const opts = input.opts
  const job: JobRecord = {
    id: jobId,
    name: input.name,
    data: input.data,
    opts,
    timestamp: input.timestamp,
    delay: typeof opts.delay === 'number' ? opts.delay : 0,
    priority: typeof opts.priority === 'number' ? opts.priority : 0,
    progress: input.progress ?? 0,
    attemptsMade: 0,
    attemptsStarted: 0,
    stalledCounter: 0,
    state: 'wait',
    logs: [],
  }
  if (input.parentKey !== undefined) {
    job.parentKey = input.parentKey
    if (input.parent !== undefined) job.parent = input.parent
  }
  if (input.repeatJobKey !== undefined) job.repeatJobKey = input.repeatJobKey
  if (opts.deduplication?.id !== undefined) job.deduplicationId = opts.deduplication.id
  q.jobs.set(jobId, job)
  q.touch(job)
  q.emit({ event: 'added', jobId, name: input.name })
  return job
}

/** A custom id that exists: nothing is added; the existing job may get the new parent. */
function duplicated(q: QueueState, existing: JobRecord, input: AddInput, parent: ParentRef | undefined): string | number {
  const existedParentKey = existing.parentKey
  if (existedParentKey === undefined || existedParentKey === input.parentKey) {
    if (parent !== undefined && input.parentKey !== undefined) {
      const key = q.nodeKey(existing.id)
      if (existing.state === 'completed') {
        addDependency(parent, key)
        childCompleted(parent, key, existing.returnvalue ?? 'null')
      } else if (input.parentDependenciesKey !== undefined) {
        addDependency(parent, key)
      }
      existing.parentKey = input.parentKey
      if (input.parent !== undefined) existing.parent = input.parent
      q.touch(existing)
    }
  } else if (input.parentKey !== undefined && input.parentKey !== existedParentKey && resolveParent(q.store, existedParentKey) !== undefined) {
    return ErrorCode.ParentJobCannotBeReplaced
  }
  q.emit({ event: 'duplicated', jobId: existing.id })
  return existing.id
}
