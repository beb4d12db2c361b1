import type { QueueState } from './queue-state.js'

/**
 * Per-minute throughput of finished jobs (BullMQ's collectMetrics): a running count and, each
 * time a minute boundary passes, the count of the minutes since (newest first, capped).
 */
export function recordMetrics(q: QueueState, type: 'completed' | 'failed', maxDataPoints: number, timestamp: number): void {
  const m = q.metrics[type]
  const count = m.count
  m.count++
  q.touchQueue()
  if (m.prevTS === undefined) {
    m.prevTS = timestamp
    m.prevCount = 0
    return
  }
  const n = Math.min(Math.floor(timestamp / 60000) - Math.floor(m.prevTS / 60000), maxDataPoints)
  if (n <= 0) return
  const delta = count - m.prevCount
  const points = [delta]
  for (let i = 1; i < n; i++) points.push(0)
  // LPUSH of [delta, 0, 0, ...] puts the last zero first.
  m.data = [...points.reverse(), ...m.data].slice(0, maxDataPoints)
  m.prevCount = count
  m.prevTS = timestamp
}

/** `[[count, prevTS, prevCount], dataPoints, totalPoints]`, strings as Redis answers. */
export function getMetrics(q: QueueState, type: 'completed' | 'failed', start: number, end: number): [string[], string[], number] {
  const m = q.metrics[type]
  const n = m.data.length
  const from = start < 0 ? Math.max(n + start, 0) : start
  const to = end < 0 ? n + end : Math.min(end, n - 1)
  const data = from > to ? [] : m.data.slice(from, to + 1).map(String)
  const head = m.prevTS === undefined && m.count === 0 ? [] : [String(m.count), String(m.prevTS ?? ''), String(m.prevCount)]
  return [head, data, n]
}
