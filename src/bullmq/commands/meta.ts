import { limiterPttl, saturate } from '../limiter.js'
import type { BackendContext } from './context.js'

/** The queue's meta hash and its rate limiter key. */

export function setQueueMeta(c: BackendContext, values: Record<string, string | number>): Promise<number> {
  return c.run((q) => {
    let added = 0
    for (const [k, v] of Object.entries(values)) {
      if (!q.meta.has(k)) added++
      q.meta.set(k, String(v))
    }
    q.touchQueue()
    q.wake()
    return added
  })
}

export function getQueueMetaField(c: BackendContext, field: string): Promise<string | null> {
  return c.run((q) => q.meta.get(field) ?? null)
}

export function getQueueMetaFields(c: BackendContext, fields: string[]): Promise<(string | null)[]> {
  return c.run((q) => fields.map((f) => q.meta.get(f) ?? null))
}

export function getQueueMeta(c: BackendContext): Promise<Record<string, string>> {
  return c.run((q) => Object.fromEntries(q.meta))
}

export function removeQueueMetaFields(c: BackendContext, fields: string[]): Promise<number> {
  return c.run((q) => {
    let n = 0
    for (const f of fields) if (q.meta.delete(f)) n++
    q.touchQueue()
    q.wake()
    return n
  })
}

export function hasQueueMetaField(c: BackendContext, field: string): Promise<boolean> {
  return c.run((q) => q.meta.has(field))
}

export function setRateLimit(c: BackendContext, expireTimeMs: number): Promise<void> {
  return c.run((q) => saturate(q, expireTimeMs))
}

export function removeRateLimitKey(c: BackendContext): Promise<number> {
  return c.run((q) => {
    const had = limiterPttl(q) !== -2
    q.limiter = { count: 0, until: 0 }
    q.wake()
    return had ? 1 : 0
  })
}

export async function removeDeprecatedPriorityKey(): Promise<number> {
  // Redis' pre-v5 priority key never existed here.
  return 0
}
