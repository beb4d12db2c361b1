/**
 * Run reports on BullMQ's own channels, so that other processes' QueueEvents hear them with no
 * read of their own: a start, progress or retry is the job's progress (`job.updateProgress`, the
 * `progress` event's `data`), a success the processor's return value (the `completed` event's
 * `returnvalue`), a failure or revoke the failed reason's tail (the `failed` event's
 * `failedReason`). Each carries the task's fields events need and the id of the handle that
 * held the run, so that handle does not hear its own. Flat, so BullMQ's own tools show it plainly.
 */
import type { TaskMessage } from '../../core/model/message.js'
import type { RemoteRunEvent, RunReport } from '../../core/engine/transport.js'
import { fromJobId } from './job-id.js'

/** A report as a job carries it. */
export type WireReport = RunReport & {
  /** The id of the transport handle that held the run. */
  readonly celeriac: string
  readonly task: string
  readonly retries: number
  readonly parentId: string | null
  readonly rootId: string | null
}

/** The failed reason of a job whose run failed; a report follows it after a space while someone listens. */
const FAILED_REASON = 'The run failed; its result is in the celeriac store'

/** `report` of a run of `message`, held by handle `from`, as a job carries it. */
export function toWire(message: TaskMessage, from: string, report: RunReport): WireReport {
  return { celeriac: from, task: message.task, retries: message.retries, parentId: message.parentId, rootId: message.rootId, ...report }
}

/** The failed reason that carries `report` (none: the plain reason). */
export function failedReasonOf(wire: WireReport | undefined): string {
  return wire === undefined ? FAILED_REASON : `${FAILED_REASON} ${JSON.stringify(wire)}`
}

/** The report a failed reason carries, if any. */
export function fromFailedReason(reason: string): unknown {
  if (!reason.startsWith(`${FAILED_REASON} `)) return undefined
  try {
    return JSON.parse(reason.slice(FAILED_REASON.length + 1)) as unknown
  } catch {
    return undefined
  }
}

/**
 * The event a job's progress, return value or failed reason carries, unless it is none of ours
 * or comes from handle `self` (its runs are emitted where they run).
 */
export function remoteEvent(queue: string, jobId: string, value: unknown, self: string): RemoteRunEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const wire = value as Partial<WireReport>
  if (typeof wire.celeriac !== 'string' || wire.celeriac === self || typeof wire.type !== 'string' || typeof wire.task !== 'string') return undefined
  const { celeriac: _from, task, retries, parentId, rootId, ...report } = wire as WireReport
  return { ...report, task: { id: fromJobId(jobId), name: task, queue, retries, parentId, rootId } }
}
