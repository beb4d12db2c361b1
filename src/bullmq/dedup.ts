import type { DeduplicationOptions } from 'bullmq'
import type { DedupNext, QueueState } from './queue-state.js'

/**
 * Deduplication keys: a deduplication id maps to the job that holds it, for a ttl or until that
 * job finishes; `replace` (debounce) swaps a pending delayed job for the newer one, and
 * `keepLastIfActive` keeps the last duplicate to run after the active one.
 */

/** The job id holding a deduplication id, if the key is alive. */
export function dedupOwner(q: QueueState, id: string): string | undefined {
  const entry = q.dedup.get(id)
  if (entry === undefined) return undefined
  if (entry.until !== undefined && entry.until <= q.ttlNow()) {
    q.dedup.delete(id)
    q.touchQueue()
    return undefined
  }
  return entry.jobId
}

export function setDedup(q: QueueState, id: string, jobId: string, opts: DeduplicationOptions | undefined, keepTtl = false): void {
  const ttl = opts?.ttl
  const prev = q.dedup.get(id)
  if (keepTtl && prev !== undefined) q.dedup.set(id, { jobId, until: prev.until })
  else if (ttl !== undefined && ttl > 0 && !opts?.keepLastIfActive) q.dedup.set(id, { jobId, until: q.ttlNow() + ttl })
  else q.dedup.set(id, { jobId })
  q.touchQueue()
}

/** What a duplicate brings along, kept for keepLastIfActive. */
export type DuplicateInfo = Omit<DedupNext, 'jobId'> & { jobId: string }

/**
 * Applies `opts.deduplication` to a job about to be added as `jobId`. Returns the id of the job
 * that keeps the deduplication id when the new one is dropped, or undefined to go on adding.
 * `removeDelayed` removes a pending delayed job (for `replace`).
 */
export function deduplicate(
  q: QueueState,
  de: DeduplicationOptions | undefined,
  dup: DuplicateInfo,
  removeDelayed: (jobId: string) => boolean,
): string | undefined {
  const id = de?.id
  if (de === undefined || id === undefined) return undefined
  const current = dedupOwner(q, id)
  if (de.replace) {
    if (current === undefined) {
      setDedup(q, id, dup.jobId, de)
      return undefined
    }
    if (removeDelayed(current)) {
      q.emit({ event: 'deduplicated', jobId: dup.jobId, deduplicationId: id, deduplicatedJobId: current })
      if (de.keepLastIfActive) setDedup(q, id, dup.jobId, undefined)
      else if (!de.extend && de.ttl !== undefined && de.ttl > 0) setDedup(q, id, dup.jobId, de, true)
      else setDedup(q, id, dup.jobId, de)
      return undefined
    }
    storeNext(q, de, current, dup)
    return current
  }
  if (current === undefined) {
    setDedup(q, id, dup.jobId, de)
    return undefined
  }
  if (storeNext(q, de, current, dup)) return current
  if (de.ttl !== undefined && de.ttl > 0 && de.extend) setDedup(q, id, current, de)
  q.emit({ event: 'deduplicated', jobId: current, deduplicationId: id, deduplicatedJobId: dup.jobId })
  return current
}

/** keepLastIfActive: the duplicate of an active job is kept to run after it. */
function storeNext(q: QueueState, de: DeduplicationOptions, current: string, dup: DuplicateInfo): boolean {
  if (!de.keepLastIfActive || !q.active.has(current)) return false
  q.dedupNext.set(de.id, { ...dup })
  // The key lives until the active job finishes.
  const entry = q.dedup.get(de.id)
  if (entry !== undefined) q.dedup.set(de.id, { jobId: entry.jobId })
  q.touchQueue()
  q.emit({ event: 'deduplicated', jobId: current, deduplicationId: de.id, deduplicatedJobId: dup.jobId })
  return true
}

/** On a job's end (finished or removed): releases its deduplication id if it still holds it. */
export function releaseDedup(q: QueueState, dedupId: string | undefined, jobId: string, onFinish: boolean): void {
  if (dedupId === undefined) return
  const entry = q.dedup.get(dedupId)
  if (entry === undefined) return
  if (entry.until !== undefined && entry.until <= q.ttlNow()) {
    q.dedup.delete(dedupId)
  } else if (entry.jobId === jobId && (entry.until === undefined || !onFinish)) {
    q.dedup.delete(dedupId)
  }
  q.touchQueue()
}
