import type { DependenciesOpts, JobJson, JobState } from 'bullmq'
import { toJobJson } from './job-record.js'
import type { QueueState } from './queue-state.js'

/**
 * Reads, in the shapes BullMQ's classes parse: states, counts, ranges (list types in Redis list
 * order, the caller reverses them), logs, dependencies and their pages.
 */

export function getState(q: QueueState, jobId: string): JobState | 'unknown' {
  const job = q.jobs.get(jobId)
  if (job === undefined) return 'unknown'
  return job.state === 'wait' ? 'waiting' : (job.state as JobState)
}

export function isFinished(q: QueueState, jobId: string, withValue: boolean): number | [number, string] {
  const job = q.jobs.get(jobId)
  if (job === undefined) return withValue ? [-1, `Missing key for job ${q.nodeKey(jobId)}. isFinished`] : -1
  if (job.state === 'completed') return withValue ? [1, job.returnvalue as string] : 1
  if (job.state === 'failed') return withValue ? [2, job.failedReason as string] : 2
  return withValue ? ([0] as unknown as [number, string]) : 0
}

export function isJobInState(q: QueueState, state: string, jobId: string): boolean {
  const job = q.jobs.get(jobId)
  if (job === undefined) return false
  switch (state) {
    case 'waiting':
    case 'wait':
      return job.state === 'wait'
    case 'paused':
      return false
    default:
      return job.state === state
  }
}

export function count(q: QueueState, type: string): number {
  switch (type) {
    case 'wait':
    case 'waiting':
      return q.wait.length
    case 'paused':
      return 0
    case 'active':
      return q.active.length
    case 'prioritized':
      return q.prioritized.size
    case 'delayed':
      return q.delayed.size
    case 'completed':
      return q.completed.size
    case 'failed':
      return q.failed.size
    case 'waiting-children':
      return q.waitingChildren.size
    default:
      return 0
  }
}

export function countPriority(q: QueueState, priority: number): number {
  if (priority === 0) return q.wait.length
  const min = priority * 0x1_0000_0000
  return q.prioritized.rangeByScore(min, (priority + 1) * 0x1_0000_0000 - 1).length
}

/** Redis' getRanges: lists in list order (asc reads from the other end), sets by score. */
export function range(q: QueueState, type: string, start: number, end: number, asc: boolean): string[] {
  const t = type === 'waiting' ? 'wait' : type
  if (t === 'wait' || t === 'active' || t === 'paused') {
    if (t === 'paused') return []
    const list = t === 'wait' ? q.wait : q.active
    if (!asc) return list.range(start, end)
    const from = end === -1 ? 0 : -(end + 1)
    const to = start === -1 ? 0 : -(start + 1)
    return list.range(from, to)
  }
  const set =
    t === 'completed'
      ? q.completed
      : t === 'failed'
        ? q.failed
        : t === 'delayed'
          ? q.delayed
          : t === 'prioritized'
            ? q.prioritized
            : t === 'waiting-children'
              ? q.waitingChildren
              : undefined
  if (set === undefined) return []
  return set.range(start, end, !asc)
}

export function getJobLogs(q: QueueState, jobId: string, start: number, end: number, asc: boolean): { logs: string[]; count: number } {
  const logs = q.jobs.get(jobId)?.logs ?? []
  const n = logs.length
  const ordered = asc ? logs : [...logs].reverse()
  const from = start < 0 ? Math.max(n + start, 0) : start
  const to = end < 0 ? n + end : Math.min(end, n - 1)
  return { logs: from > to ? [] : ordered.slice(from, to + 1), count: n }
}

export function dependencyCounts(q: QueueState, jobId: string, types: string[]): number[] {
  const job = q.jobs.get(jobId)
  return types.map((t) => {
    if (t === 'processed') return job?.processed?.size ?? 0
    if (t === 'unprocessed') return job?.deps?.size ?? 0
    if (t === 'ignored') return job?.failedChildren?.size ?? 0
    return job?.unsuccessful?.size ?? 0
  })
}

export interface Dependencies {
  nextFailedCursor?: number
  failed?: string[]
  nextIgnoredCursor?: number
  ignored?: Record<string, unknown>
  nextProcessedCursor?: number
  processed?: Record<string, unknown>
  nextUnprocessedCursor?: number
  unprocessed?: string[]
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Children of a parent by kind; with cursors, pages of `count` (cursor 0 = the last page). */
export function dependencies(q: QueueState, jobId: string, opts: DependenciesOpts): Dependencies {
  const job = q.jobs.get(jobId)
  const processed = [...(job?.processed ?? [])]
  const unprocessed = [...(job?.deps ?? [])]
  const ignored = [...(job?.failedChildren ?? [])]
  const failed = [...(job?.unsuccessful ?? [])].sort((a, b) => a[1] - b[1]).map(([k]) => k)
  if (!opts.processed && !opts.unprocessed && !opts.ignored && !opts.failed) {
    return {
      processed: Object.fromEntries(processed.map(([k, v]) => [k, parseJson(v)])),
      unprocessed,
      failed,
      ignored: Object.fromEntries(ignored),
    }
  }
  const page = <T>(items: T[], o: { cursor?: number; count?: number }): [T[], number] => {
    const cursor = o.cursor ?? 0
    const n = o.count ?? 20
    const slice = items.slice(cursor, cursor + n)
    return [slice, cursor + n >= items.length ? 0 : cursor + n]
  }
  const out: Dependencies = {}
  if (opts.processed) {
    const [items, next] = page(processed, opts.processed)
    out.processed = Object.fromEntries(items.map(([k, v]) => [k, parseJson(v)]))
    out.nextProcessedCursor = next
  }
  if (opts.unprocessed) {
    const [items, next] = page(unprocessed, opts.unprocessed)
    out.unprocessed = items
    out.nextUnprocessedCursor = next
  }
  if (opts.ignored) {
    const [items, next] = page(ignored, opts.ignored)
    out.ignored = Object.fromEntries(items)
    out.nextIgnoredCursor = next
  }
  if (opts.failed) {
    const cursor = opts.failed.cursor ?? 0
    const n = opts.failed.count ?? 20
    // BullMQ reads ZRANGE cursor..count-1 and answers cursor+count.
    out.failed = failed.slice(cursor, Math.max(cursor, n))
    out.nextFailedCursor = cursor + n
  }
  return out
}

export interface Page {
  cursor: string
  items: Array<{ id: string; v?: unknown; err?: string }>
  total: number
  jobs?: JobJson[]
}

/** `queue.getDependencies(parentId, type, start, end)`: a page of `<id>:processed` or `<id>:dependencies`. */
export function paginate(q: QueueState, key: string, opts: { start: number; end: number; fetchJobs?: boolean }): Page {
  const base = `${q.key}:`
  const inner = key.startsWith(base) ? key.slice(base.length) : key
  let parentId: string
  let withValues: boolean
  if (inner.endsWith(':processed')) {
    parentId = inner.slice(0, -':processed'.length)
    withValues = true
  } else if (inner.endsWith(':dependencies')) {
    parentId = inner.slice(0, -':dependencies'.length)
    withValues = false
  } else return { cursor: '0', items: [], total: 0, jobs: [] }
  const parent = q.jobs.get(parentId)
  const entries: Array<[string, string | undefined]> = withValues ? [...(parent?.processed ?? [])] : [...(parent?.deps ?? [])].map((k) => [k, undefined])
  const total = entries.length
  const start = Math.max(0, opts.start)
  const end = opts.end < 0 ? total - 1 : opts.end
  const slice = entries.slice(start, end + 1)
  const items = slice.map(([id, v]) => {
    if (!withValues) return { id }
    try {
      return { id, v: JSON.parse(v as string) as unknown }
    } catch (err) {
      return { id, err: (err as Error).message }
    }
  })
  const jobs: JobJson[] = []
  if (opts.fetchJobs) {
    for (const [id] of slice) {
      const node = q.store.node(id)
      if (node?.job !== undefined) jobs.push(toJobJson(node.job))
    }
  }
  return { cursor: '0', items, total, jobs }
}
