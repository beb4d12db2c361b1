import type { QueueState } from './queue-state.js'

/**
 * The queue's rate limiter, as BullMQ keeps it in Redis: a counter bumped at each claim that
 * expires `duration` ms after its first bump; `max` claims in a window saturate it. The window
 * runs on the store's clock.
 */

/** The limiter key's remaining life in ms, with Redis PTTL's answers: -2 when there is none. */
export function limiterPttl(q: QueueState): number {
  const l = q.limiter
  if (l.until === 0) return -2
  const left = l.until - q.ttlNow()
  if (left <= 0) {
    q.limiter = { count: 0, until: 0 }
    return -2
  }
  return left
}

/** How long a worker must wait (ms) when `maxJobs` claims are used up; 0 when free. */
export function rateLimitTtl(q: QueueState, maxJobs: number | undefined): number {
  if (maxJobs === undefined || Number.isNaN(maxJobs)) return 0
  const pttl = limiterPttl(q)
  if (pttl < 0) return 0
  return maxJobs <= q.limiter.count ? pttl : 0
}

/** Counts a claim against the window. */
export function countClaim(q: QueueState, duration: number): void {
  limiterPttl(q)
  if (q.limiter.until === 0) q.limiter = { count: 1, until: q.ttlNow() + Math.floor(Math.abs(duration)) }
  else q.limiter.count++
}

/** `worker.rateLimit(ms)`: saturates the limiter for `ms`. */
export function saturate(q: QueueState, ms: number): void {
  q.limiter = { count: Number.MAX_SAFE_INTEGER, until: q.ttlNow() + ms }
}

/** The global limiter stored in meta (`max`, `duration`), which wins over the worker's. */
export function globalLimit(q: QueueState): { max?: number; duration?: number } {
  const max = q.meta.get('max')
  const duration = q.meta.get('duration')
  return {
    ...(max !== undefined ? { max: Number(max) } : {}),
    ...(duration !== undefined ? { duration: Number(duration) } : {}),
  }
}
