import type { Mutation, Storage } from '../storage/types.js'
import { IdList } from './id-list.js'
import type { JobRecord } from './job-record.js'
import type { DedupNext, MetricsRecord, QueueState, SchedulerRecord } from './queue-state.js'
import { SortedSet } from './sorted-set.js'

/**
 * Write-through to the storage, for durable storages: after each operation, the jobs it
 * touched and, when changed, the queue's own record (meta, counters, dedup keys, schedulers,
 * metrics) are written in one atomic call. A job is one record holding its state and its place
 * (score or list position), so loading rebuilds every list and set from the jobs alone. On memory
 * storage the store is the only copy and nothing is written.
 *
 * Keys: `messages` / `bullmq:<prefix>:<queue>:<id>` for jobs, `meta` / `bullmq:<prefix>:<queue>`
 * for queues. Events, locks' stall candidates and the limiter's window are not kept: a restart
 * begins a new event stream, and active jobs come back as stalled once their locks expire.
 */
const PREFIX = 'bullmq:'

interface StoredJob extends Omit<JobRecord, 'deps' | 'processed' | 'failedChildren' | 'unsuccessful'> {
  deps?: string[]
  processed?: Array<[string, string]>
  failedChildren?: Array<[string, string]>
  unsuccessful?: Array<[string, number]>
  /** Score in its sorted set, or position in its list. */
  place: number
}

interface StoredQueue {
  name: string
  prefix: string
  meta: Array<[string, string]>
  idCounter: number
  priorityCounter: number
  dedup: Array<[string, { jobId: string; until?: number }]>
  dedupNext: Array<[string, DedupNext]>
  schedulers: Array<[string, SchedulerRecord, number]>
  metrics: { completed: MetricsRecord; failed: MetricsRecord }
}

/** A job's place in its state's structure: its list position, or its score. */
function placeOf(q: QueueState, job: JobRecord): number {
  const held = q.byState[job.state]
  return (held instanceof IdList ? held.position(job.id) : held.score(job.id)) ?? 0
}

function toStored(q: QueueState, job: JobRecord): StoredJob {
  const { deps, processed, failedChildren, unsuccessful, ...rest } = job
  const out: StoredJob = JSON.parse(JSON.stringify({ ...rest, place: placeOf(q, job) })) as StoredJob
  if (deps !== undefined) out.deps = [...deps]
  if (processed !== undefined) out.processed = [...processed]
  if (failedChildren !== undefined) out.failedChildren = [...failedChildren]
  if (unsuccessful !== undefined) out.unsuccessful = [...unsuccessful]
  return out
}

function fromStored(s: StoredJob): JobRecord {
  const { deps, processed, failedChildren, unsuccessful, place: _place, ...rest } = s
  const job: JobRecord = { ...rest }
  if (deps !== undefined) job.deps = new Set(deps)
  if (processed !== undefined) job.processed = new Map(processed)
  if (failedChildren !== undefined) job.failedChildren = new Map(failedChildren)
  if (unsuccessful !== undefined) job.unsuccessful = new Map(unsuccessful)
  return job
}

function queueRecord(q: QueueState): StoredQueue {
  return JSON.parse(
    JSON.stringify({
      name: q.name,
      prefix: q.prefix,
      meta: [...q.meta],
      idCounter: q.idCounter,
      priorityCounter: q.priorityCounter,
      dedup: [...q.dedup],
      dedupNext: [...q.dedupNext],
      schedulers: [...q.schedulers].map(([id, rec]) => [id, rec, q.schedulerTimes.score(id) ?? 0]),
      metrics: q.metrics,
    }),
  ) as StoredQueue
}

/** What persistence needs of the store: its storage and its queues. */
export interface PersistedStore {
  readonly storage: Storage
  readonly durable: boolean
  queue(prefix: string, name: string): QueueState
  queueByKey(key: string): QueueState | undefined
  queues(): IterableIterator<QueueState>
}

export class Persistence {
  constructor(readonly store: PersistedStore) {}

  /** Opens the storage and rebuilds every queue it holds. */
  async load(): Promise<void> {
    const storage = this.store.storage
    await storage.open()
    if (!this.store.durable) return
    for (const [key, value] of await storage.entries('meta')) {
      if (!key.startsWith(PREFIX)) continue
      const rec = value as StoredQueue
      const q = this.store.queue(rec.prefix, rec.name)
      for (const [k, v] of rec.meta) q.meta.set(k, v)
      q.idCounter = rec.idCounter
      q.priorityCounter = rec.priorityCounter
      for (const [k, v] of rec.dedup) q.dedup.set(k, v)
      for (const [k, v] of rec.dedupNext) q.dedupNext.set(k, v)
      for (const [id, s, next] of rec.schedulers) {
        q.schedulers.set(id, s)
        q.schedulerTimes.add(id, next)
      }
      q.metrics = rec.metrics
    }
    const lists = new Map<QueueState, { wait: Array<[string, number]>; active: Array<[string, number]> }>()
    for (const [key, value] of await storage.entries('messages')) {
      if (!key.startsWith(PREFIX)) continue
      const s = value as StoredJob
      const qkey = key.slice(PREFIX.length, key.length - s.id.length - 1)
      const q = this.store.queueByKey(qkey) ?? this.#queueFromKey(qkey)
      const job = fromStored(s)
      q.jobs.set(job.id, job)
      const held = q.byState[job.state]
      if (held instanceof SortedSet) held.add(job.id, s.place)
      else if (job.state === 'wait' || job.state === 'active') {
        // Lists are rebuilt once all their members are read, in the order of their places.
        let l = lists.get(q)
        if (l === undefined) lists.set(q, (l = { wait: [], active: [] }))
        l[job.state].push([job.id, s.place])
      }
    }
    for (const [q, l] of lists) {
      // At their stored places, not renumbered: a job added after this load is written with a
      // place beyond them, where the next load must find it.
      for (const [id, place] of l.wait.sort((a, b) => a[1] - b[1])) q.wait.restore(id, place)
      for (const [id, place] of l.active.sort((a, b) => a[1] - b[1])) q.active.restore(id, place)
      // What was active when the process stopped is a stall candidate at the first check.
      for (const [id] of l.active) q.stalled.add(id)
    }
  }

  #queueFromKey(qkey: string): QueueState {
    const i = qkey.lastIndexOf(':')
    return this.store.queue(qkey.slice(0, i), qkey.slice(i + 1))
  }

  /** Writes what the last operations changed, in one call. */
  async flush(): Promise<void> {
    if (!this.store.durable) return
    const mutations: Mutation[] = []
    for (const q of this.store.queues()) {
      for (const id of q.dirty) {
        const job = q.jobs.get(id)
        const key = `${PREFIX}${q.key}:${id}`
        mutations.push(job === undefined ? { op: 'delete', ns: 'messages', key } : { op: 'put', ns: 'messages', key, value: toStored(q, job) })
      }
      q.dirty.clear()
      if (q.dirtyQueue) {
        q.dirtyQueue = false
        mutations.push({ op: 'put', ns: 'meta', key: `${PREFIX}${q.key}`, value: queueRecord(q) })
      }
    }
    if (mutations.length > 0) await this.store.storage.write(mutations)
  }
}
