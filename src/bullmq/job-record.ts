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

/**
 * A deep copy of JSON data (the store never shares objects with callers): what a JSON round trip
 * makes. Job options, copied on every add and fetch, are plain objects of strings, numbers and
 * booleans: those are copied directly (a third of the round trip's cost); anything else takes
 * the round trip.
 */
export function clone<T>(value: T): T {
  if (value === undefined || value === null || typeof value !== 'object') return value
  const copy = plainCopy(value, 0)
  return (copy === NOT_PLAIN ? JSON.parse(JSON.stringify(value)) : copy) as T
}

const NOT_PLAIN: unique symbol = Symbol('not plain')

/**
 * The copy a JSON round trip would make of an object whose prototype is Object's and whose own
 * enumerable values are strings, booleans, null, finite numbers (not -0), undefined (dropped)
 * or such objects; NOT_PLAIN for anything else (arrays, Dates, a toJSON, NaN, a `__proto__`
 * key, more than 8 levels), which the caller hands to the round trip.
 */
function plainCopy(value: object, depth: number): Record<string, unknown> | typeof NOT_PLAIN {
  if (depth > 8 || Object.getPrototypeOf(value) !== Object.prototype) return NOT_PLAIN
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    if (k === '__proto__') return NOT_PLAIN
    const v = (value as Record<string, unknown>)[k]
    switch (typeof v) {
      case 'string':
      case 'boolean':
        out[k] = v
        break
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) return NOT_PLAIN
        out[k] = v
        break
      case 'undefined':
        break
      case 'object': {
        if (v === null) {
          out[k] = null
          break
        }
        const inner = plainCopy(v, depth + 1)
        if (inner === NOT_PLAIN) return NOT_PLAIN
        out[k] = inner
        break
      }
      default:
        return NOT_PLAIN
    }
  }
  return out
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
