import type { JobJson } from 'bullmq'
import { type JobRecord, toJobJson } from './job-record.js'
import { countClaim, globalLimit, rateLimitTtl } from './limiter.js'
import type { QueueState } from './queue-state.js'

/**
 * Claiming the next job (BullMQ's moveToActive / fetchNextJob): due delayed jobs are promoted,
 * the limiter and pause/global concurrency are checked, then the oldest of wait, else the best
 * of prioritized, becomes active under the worker's lock. The answer is Redis' tuple
 * `[job, id, rateLimitDelayMs, nextDelayedTimestamp]`.
 */
export interface ClaimOptions {
  token: string
  lockDuration: number
  name?: string
  limiter?: { max: number; duration: number }
}

export type ClaimResult = [JobJson | 0, string | 0, number, number]

/** Moves delayed jobs due by now to wait / prioritized (at most 1000, as Redis does). */
export function promoteDelayed(q: QueueState): void {
  const now = q.now()
  const due = q.delayed.rangeByScore(0, (now + 1) * 0x1000 - 1, 1000)
  for (const id of due) {
    q.delayed.remove(id)
    const job = q.jobs.get(id)
    if (job === undefined) continue
    job.delay = 0
    if (job.priority > 0) q.addWithPriority(job, job.priority)
    else q.addToWait(job)
    q.emit({ event: 'waiting', jobId: id, prev: 'delayed' })
  }
}

/** One claim; `undefined` when nothing is ready and nothing is delayed (Redis' nil). */
export function fetchNext(q: QueueState, opts: ClaimOptions): ClaimResult | undefined {
  const pausedOrMaxed = q.isPausedOrMaxed()
  promoteDelayed(q)
  const global = globalLimit(q)
  const maxJobs = global.max ?? opts.limiter?.max
  const ttl = rateLimitTtl(q, maxJobs)
  if (ttl > 0) return [0, 0, ttl, 0]
  if (pausedOrMaxed) return [0, 0, 0, 0]
  const duration = opts.limiter?.duration ?? global.duration
  let id = q.wait.popRight()
  if (id === undefined) id = q.prioritized.popMin()
  if (id !== undefined) {
    const job = q.jobs.get(id)
    if (job !== undefined) return prepare(q, job, opts, maxJobs, duration)
  }
  if (q.prioritized.size === 0) q.priorityCounter = 0
  const next = q.nextDelayed()
  return next === undefined ? undefined : [0, 0, 0, q.store.toCallerTime(next)]
}

export function moveToActive(q: QueueState, opts: ClaimOptions): ClaimResult {
  return fetchNext(q, opts) ?? [0, 0, 0, 0]
}

function prepare(q: QueueState, job: JobRecord, opts: ClaimOptions, maxJobs: number | undefined, duration: number | undefined): ClaimResult {
  // Stamped before the window opens, as Redis has it (the worker's time when it sent the claim):
  // time passing inside the claim (a GC pause) must not put the stamp after the window's start,
  // or the next claim would look less than a window later.
  job.processedOn = q.store.toCallerTime(q.now())
  if (maxJobs !== undefined && !Number.isNaN(maxJobs)) countClaim(q, duration ?? 0)
  job.state = 'active'
  q.active.pushLeft(job.id)
  if (opts.token !== '0') job.lock = { token: opts.token, until: q.ttlNow() + opts.lockDuration }
  q.emit({ event: 'active', jobId: job.id, prev: 'waiting' })
  if (opts.name) job.processedBy = opts.name
  job.attemptsStarted++
  q.touch(job)
  // Another worker may take the next one (Redis re-adds the marker here).
  if (q.wait.length > 0 || q.prioritized.size > 0) q.wake()
  return [toJobJson(job), job.id, 0, 0]
}
