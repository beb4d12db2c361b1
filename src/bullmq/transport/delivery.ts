import { DelayedError, type Job, UnrecoverableError } from 'bullmq'
import type { TaskMessage } from '../../core/model/message.js'
import type { BrokerSchedule, Delivery } from '../../core/engine/transport.js'
import { failedReasonOf, toWire, type WireReport } from './run-reports.js'

/** What a job carries: the message, and the job's `stalledCounter` at our last deliberate move. */
export interface JobData {
  readonly message: TaskMessage
  /**
   * BullMQ raises `stalledCounter` only when it takes a job back from a consumer that lost its
   * lock; recording it at each defer / requeue tells a redelivery from our own moves.
   */
  readonly stalls: number
  /**
   * When a deferred job is due on the app clock (a retry's eta, or the time a rate-limit token
   * frees up), which its delay in BullMQ gives only in wall time. Absent until it is deferred.
   */
  readonly due?: number
  /**
   * On a job a celeriac schedule's BullMQ scheduler made (./schedules.ts): the schedule, whose
   * slot the job is. Dropped at the first defer or requeue, which store the slot's own message.
   */
  readonly schedule?: Omit<BrokerSchedule, 'message'>
}

/** What a delivery needs of its transport. */
export interface DeliveryHost {
  /** Wall time (ms) at which something due at `at` on the app clock is due. */
  wallTimeOf(at: number): number
  /** A settle is under way / has ended (close waits for those under way). */
  track(settling: Promise<unknown>): void
  /** Resolves once the Worker has finished job `id` (its `completed` or `failed`), or gave up on it. */
  finished(id: string): Promise<void>
  /** The id of this transport handle, which its run reports carry (see run-reports.ts). */
  readonly self: string
}

/**
 * One job taken by a Worker, as a Delivery. An ack settles the processor's promise (`done`): it
 * returns (the Worker completes the job and fetches the next in the same call, as raw BullMQ
 * does) or throws an UnrecoverableError (failed); the ack's promise is the Worker's word that it
 * finished the job. A defer or requeue moves the job itself (delayed, back to wait), then the
 * processor throws a DelayedError, which tells the Worker that the job was moved and it has only
 * to fetch the next one: their promise is BullMQ's own answer (a lost lock rejects it).
 * `message`: what the job delivers, when not its data's (a schedule's slot: ./schedules.ts).
 */
export function deliveryOf(
  job: Job<JobData>,
  token: string,
  host: DeliveryHost,
  message: TaskMessage = job.data.message,
): { delivery: Delivery; done: Promise<WireReport | null> } {
  const data = job.data
  let release!: () => void
  let complete!: (value: WireReport | null) => void
  let fail!: (error: Error) => void
  const done = new Promise<WireReport | null>((resolve, reject) => {
    release = () => reject(new DelayedError())
    complete = resolve
    fail = reject
  })
  let settled = false
  const settle = (what: string, move: () => Promise<unknown>): Promise<void> => {
    if (settled) return Promise.reject(new Error(`Delivery of ${message.id}: ${what} after it was settled`))
    settled = true
    const p = move().then(
      () => release(),
      (error: unknown) => {
        release()
        throw error
      },
    )
    host.track(p)
    return p
  }
  const delivery: Delivery = {
    message,
    redelivered: job.stalledCounter > data.stalls,
    ack(failed, end) {
      if (settled) return Promise.reject(new Error(`Delivery of ${message.id}: ack after it was settled`))
      settled = true
      const finished = host.finished(job.id ?? '')
      // The end report rides on what the Worker writes anyway: the return value, the failed reason.
      const wire = end === undefined ? undefined : toWire(message, host.self, end)
      // Unrecoverable: BullMQ never retries it (retries are celeriac's, through defer).
      if (failed) fail(new UnrecoverableError(failedReasonOf(wire)))
      else complete(wire ?? null)
      host.track(finished)
      return finished
    },
    report(report) {
      // One call (BullMQ's updateProgress script: the field and the `progress` event).
      return job.updateProgress(toWire(message, host.self, report))
    },
    defer(next, at) {
      return settle('defer', async () => {
        await job.updateData({ message: next, stalls: job.stalledCounter, due: at })
        await job.moveToDelayed(host.wallTimeOf(at), token)
      })
    },
    requeue(next) {
      return settle('requeue', async () => {
        await job.updateData({ message: next, stalls: job.stalledCounter })
        await job.moveToWait(token)
      })
    },
  }
  return { delivery, done }
}
