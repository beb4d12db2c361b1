/**
 * A stored result record as `AsyncResult.status()` gives it, decoded: shared by the result handle
 * and the CLI's read-only view of a file-storage directory, which reads records without an app.
 */
import type { ResultRecord } from '../model/message.js'
import { FAILURE, PENDING, REVOKED } from '../model/states.js'
import type { State } from '../model/states.js'
import { decode, decodeError } from '../serializer/decode.js'

/**
 * The whole stored record of a task, decoded.
 *
 * @example
 * const status = await app.AsyncResult(id).status()
 * console.log(status.state, status.result, status.traceback, status.dateDone)
 */
export interface ResultStatus {
  id: string
  task: string | null
  state: State
  result: unknown
  traceback: string | null
  dateDone: Date | null
  retries: number
  parentId: string | null
  rootId: string | null
  groupId: string | null
  children: string[]
}

/** The status of task `id` from its record; PENDING with empty fields when there is none. */
export function statusOf(id: string, record: ResultRecord | undefined): ResultStatus {
  return {
    id,
    task: record?.task ?? null,
    state: record?.state ?? PENDING,
    result: record === undefined ? null : infoOf(record),
    traceback: record?.traceback ?? null,
    dateDone: record?.dateDone == null ? null : new Date(record.dateDone),
    retries: record?.retries ?? 0,
    parentId: record?.parentId ?? null,
    rootId: record?.rootId ?? null,
    groupId: record?.groupId ?? null,
    children: record?.children ?? [],
  }
}

/** The result, or the error of a failed, revoked or retrying task, decoded. */
export function infoOf(record: ResultRecord): unknown {
  if (record.result === null) return null
  if (record.state === FAILURE || record.state === REVOKED || record.state === 'RETRY') return decodeError(record.result)
  return decode(record.result)
}
