/**
 * A result as Celery's Redis backend keeps it (`celery-task-meta-<id>`: status, result,
 * traceback, children, date_done, task_id, parent_id, group_id) against celeriac's ResultRecord.
 */
import { SerializationError } from '../core/model/errors.js'
import type { Json } from '../core/model/json.js'
import type { ResultRecord } from '../core/model/message.js'
import { FAILURE, RETRY, REVOKED, SUCCESS } from '../core/model/states.js'
import { fromWire, fromWireException, isoTime, toWire } from './wire-json.js'

/** The key (and PUBLISH channel) of a task's result in Celery's Redis backend. */
export const RESULT_KEY_PREFIX = 'celery-task-meta-'

/** States whose `result` is an exception dict (Celery's EXCEPTION_STATES). */
const EXCEPTION_STATES = new Set<string>([FAILURE, RETRY, REVOKED])

type JsonObject = { [key: string]: Json }

/** The stored JSON text of a Celery result as a ResultRecord; undefined when it is none. */
export function recordFromMeta(id: string, text: string): ResultRecord | undefined {
  let meta: Json
  try {
    meta = JSON.parse(text) as Json
  } catch {
    return undefined
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || typeof meta.status !== 'string') return undefined
  const traceback = typeof meta.traceback === 'string' ? meta.traceback : null
  const raw = meta.result ?? null
  const result = EXCEPTION_STATES.has(meta.status) ? (raw === null ? null : fromWireException(raw, traceback)) : fromWire(raw)
  const dateDone = typeof meta.date_done === 'string' ? utcTime(meta.date_done) : Number.NaN
  return {
    id,
    // Only `result_extended` stores the name.
    task: typeof meta.name === 'string' ? meta.name : '',
    state: meta.status,
    result,
    traceback,
    dateDone: Number.isNaN(dateDone) ? null : dateDone,
    retries: typeof meta.retries === 'number' ? meta.retries : 0,
    parentId: typeof meta.parent_id === 'string' ? meta.parent_id : null,
    rootId: null,
    groupId: typeof meta.group_id === 'string' ? meta.group_id : null,
    children: childIds(meta.children),
    // Redis expires the key itself.
    expiresAt: null,
    acksLate: false,
  }
}

/**
 * A time Celery wrote: ISO 8601 in UTC, with `+00:00` since 5.3 but naive in 5.2
 * (`datetime.utcnow().isoformat()`), which JS would read as local time.
 */
export function utcTime(text: string): number {
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) || !text.includes('T') ? text : `${text}Z`)
}

/** Celery's `children`: result tuples `[[id, parent], null]`, a group's `[[gid, null], [tuples]]`. */
function childIds(children: Json | undefined): string[] {
  if (!Array.isArray(children)) return []
  const ids: string[] = []
  for (const child of children) {
    const head = Array.isArray(child) ? child[0] : undefined
    if (Array.isArray(head) && typeof head[0] === 'string') ids.push(head[0])
  }
  return ids
}

/** A ResultRecord as the JSON a Celery result reader expects (its values as plain JSON). */
export function metaFromRecord(record: ResultRecord): JsonObject {
  let result: Json
  try {
    result = record.result === null ? null : toWire(record.result, 'result')
  } catch (error) {
    if (!(error instanceof SerializationError)) throw error
    // Stored anyway, so the reader is not left waiting: a failure saying why.
    return metaFromRecord({ ...record, state: FAILURE, result: { $: 'Error', v: { name: 'SerializationError', message: error.message } }, traceback: null })
  }
  const ready = record.state === SUCCESS || record.state === FAILURE || record.state === REVOKED
  const meta: JsonObject = {
    status: record.state,
    result,
    traceback: record.traceback,
    children: record.children.map((child) => [[child, null], null]),
    date_done: ready ? isoTime(record.dateDone ?? Date.now()) : null,
    task_id: record.id,
  }
  if (record.parentId !== null) meta.parent_id = record.parentId
  if (record.groupId !== null) meta.group_id = record.groupId
  return meta
}
