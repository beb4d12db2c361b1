import type { JobRecord } from './job-record.js'
import type { QueueHost, QueueState } from './queue-state.js'

/**
 * Parent bookkeeping of flows, done in the same step as the child's change: a child's node key
 * sits in its parent's `deps` until it finishes; the last one releases the parent from
 * waiting-children. Failure policies (fail / continue / ignore / remove) follow
 * BullMQ's moveChildFromDependenciesIfNeeded.
 */

export interface ParentRef {
  queue: QueueState
  job: JobRecord
  key: string
}

/** A job's parent, if it has one and the parent still exists. */
export function parentOf(store: QueueHost, job: JobRecord): ParentRef | undefined {
  const key = job.parentKey ?? (job.parent?.id !== undefined ? `${job.parent.queueKey}:${job.parent.id}` : undefined)
  if (key === undefined) return undefined
  return resolveParent(store, key, job.parent?.queueKey)
}

export function resolveParent(store: QueueHost, key: string, queueKey?: string): ParentRef | undefined {
  if (queueKey !== undefined && key.startsWith(`${queueKey}:`)) {
    const queue = store.queueByKey(queueKey)
    const job = queue?.jobs.get(key.slice(queueKey.length + 1))
    if (queue !== undefined && job !== undefined) return { queue, job, key }
  }
  const node = store.node(key)
  if (node?.job === undefined) return undefined
  return { queue: node.queue, job: node.job, key }
}

/** The parent leaves waiting-children (or a parked delayed slot) for wait, prioritized or delayed. */
function moveParentToWait(pq: QueueState, parent: JobRecord): void {
  const now = pq.now()
  if (parent.delay > 0) {
    const due = pq.addDelayed(parent, now + parent.delay)
    pq.emit({ event: 'delayed', jobId: parent.id, delay: due })
  } else {
    if (parent.priority > 0) pq.addWithPriority(parent, parent.priority)
    else pq.addToWait(parent, true)
    pq.emit({ event: 'waiting', jobId: parent.id, prev: 'waiting-children' })
  }
}

function moveParentToWaitIfNeeded(p: ParentRef): void {
  if (p.queue.waitingChildren.remove(p.job.id)) moveParentToWait(p.queue, p.job)
}

function releaseIfNoPending(p: ParentRef): void {
  if ((p.job.deps?.size ?? 0) === 0) moveParentToWaitIfNeeded(p)
}

/** Registers a child as pending in its parent. */
export function addDependency(p: ParentRef, childKey: string): void {
  ;(p.job.deps ??= new Set()).add(childKey)
  p.queue.touch(p.job)
}

/** A child completed with `returnvalue` (JSON text). */
export function childCompleted(p: ParentRef, childKey: string, returnvalue: string): void {
  if (p.job.deps?.delete(childKey) !== true) return
  ;(p.job.processed ??= new Map()).set(childKey, returnvalue)
  p.queue.touch(p.job)
  releaseIfNoPending(p)
}

/** A child failed for good: its parent's failure policy decides. */
export function childFailed(p: ParentRef, child: JobRecord, childKey: string, failedReason: string): void {
  const policy = child.parent
  if (policy === undefined) return
  const parent = p.job
  if (policy.fpof) {
    if (parent.deps?.delete(childKey) !== true) return
    ;(parent.unsuccessful ??= new Map()).set(childKey, p.queue.now())
    p.queue.touch(parent)
    const pq = p.queue
    let parked = false
    if (pq.waitingChildren.remove(parent.id)) parked = true
    else if (pq.delayed.remove(parent.id)) {
      parent.delay = 0
      parked = true
    }
    if (parked) {
      parent.deferredFailure = `child ${childKey} failed`
      moveParentToWait(pq, parent)
    } else if (parent.state !== 'failed') {
      parent.deferredFailure = `child ${childKey} failed`
    }
  } else if (policy.cpof) {
    if (parent.deps?.delete(childKey) !== true) return
    ;(parent.failedChildren ??= new Map()).set(childKey, failedReason)
    p.queue.touch(parent)
    moveParentToWaitIfNeeded(p)
  } else if (policy.idof || policy.rdof) {
    if (parent.deps?.delete(childKey) !== true) return
    p.queue.touch(parent)
    releaseIfNoPending(p)
    if (policy.idof) (parent.failedChildren ??= new Map()).set(childKey, failedReason)
  }
}

/**
 * A child is removed: it leaves the parent's pending set, and the parent goes on when it was
 * the last one. With `hard` (removing a tree) a parent in the same queue goes as well.
 */
export function removeDependency(store: QueueHost, childKey: string, parentKey: string | undefined, hard: boolean, baseQueue: QueueState): boolean {
  if (parentKey === undefined) return false
  const p = resolveParent(store, parentKey)
  if (p === undefined || p.job.deps?.delete(childKey) !== true) return false
  p.queue.touch(p.job)
  if (p.job.deps.size === 0 && p.queue.waitingChildren.remove(p.job.id)) {
    if (hard && p.queue === baseQueue) {
      removeDependency(store, parentKey, p.job.parentKey, hard, baseQueue)
      p.queue.jobs.delete(p.job.id)
      p.queue.touch(p.job)
    } else {
      p.queue.addToWait(p.job, true)
      if (!hard) p.queue.emit({ event: 'waiting', jobId: p.job.id, prev: 'waiting-children' })
    }
  }
  return true
}
