import type { JobJson, JobsOptions, ParentKeys } from 'bullmq'

/** The states a job can be in; `wait` and `prioritized` are both "waiting" to BullMQ. */
export type JobStateName = 'wait' | 'prioritized' | 'delayed' | 'active' | 'completed' | 'failed' | 'waiting-children'

/**
 * One job as the store keeps it: the fields of BullMQ's Redis job hash, decoded, plus its
 * dependencies when it is a parent. Field meanings follow `JobJson`.
 */
export interface JobRecord {
  id: string
  name: string
  /** JSON text, as BullMQ hands it over. */
  data: string
  opts: JobsOptions
  timestamp: number
  delay: number
  priority: number
  progress: unknown
  attemptsMade: number
  attemptsStarted: number
  stalledCounter: number
  processedOn?: number
  finishedOn?: number
  failedReason?: string
  stacktrace?: string
  returnvalue?: string
  parentKey?: string
  parent?: ParentKeys
  repeatJobKey?: string
  deduplicationId?: string
  deferredFailure?: string
  processedBy?: string
  state: JobStateName
  logs: string[]
  /** Lock of the worker holding it (active jobs). */
  lock?: { token: string; until: number }
  /** Children not finished yet: their node keys (`<queue key>:<id>`). */
  deps?: Set<string>
  /** Children completed: node key → return value (JSON text). */
  processed?: Map<string, string>
  /** Children failed under ignoreDependencyOnFailure / continueParentOnFailure: node key → reason. */
  failedChildren?: Map<string, string>
  /** Children failed under failParentOnFailure: node key → when. */
  unsuccessful?: Map<string, number>
}

/** BullMQ's JSON view of a record (what `Job.fromJSON` reads); nothing shared with the store. */
export function toJobJson(job: JobRecord): JobJson {
  const json: JobJson = {
    id: job.id,
    name: job.name,
    data: job.data,
    opts: clone(job.opts),
    progress: clone(job.progress) as JobJson['progress'],
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    timestamp: job.timestamp,
    delay: job.delay,
    priority: job.priority,
    failedReason: job.failedReason as string,
    returnvalue: job.returnvalue as string,
  }
  if (job.finishedOn !== undefined) json.finishedOn = job.finishedOn
  if (job.processedOn !== undefined) json.processedOn = job.processedOn
  if (job.stacktrace !== undefined) json.stacktrace = job.stacktrace
  if (job.parentKey !== undefined) json.parentKey = job.parentKey
  if (job.parent !== undefined) json.parent = { ...job.parent }
  if (job.repeatJobKey !== undefined) json.repeatJobKey = job.repeatJobKey
  if (job.deduplicationId !== undefined) {
    json.deduplicationId = job.deduplicationId
    json.debounceId = job.deduplicationId
  }
  if (job.deferredFailure !== undefined) json.deferredFailure = job.deferredFailure
  if (job.processedBy !== undefined) json.processedBy = job.processedBy
  return json
}

/** A deep copy of JSON data (the store never shares objects with callers). */
export function clone<T>(value: T): T {
  return value === undefined || value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as T)
}

/** Applies BullMQ's `fieldsToUpdate` (failedReason, stacktrace, ...) to a record. */
export function updateFields(job: JobRecord, fields: Record<string, unknown> | undefined): void {
  if (fields === undefined) return
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    switch (k) {
      case 'failedReason':
        job.failedReason = String(v)
        break
      case 'stacktrace':
        job.stacktrace = String(v)
        break
      case 'tm':
        // telemetry context: kept in opts as Redis keeps it in the hash
        job.opts = { ...job.opts, telemetry: { ...job.opts.telemetry, metadata: String(v) } }
        break
      default:
        break
    }
  }
}
