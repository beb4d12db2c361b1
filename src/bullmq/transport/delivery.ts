import { DelayedError, type Job, UnrecoverableError } from 'bullmq'
import type { TaskMessage } from '../../core/model/message.js'
import type { Delivery } from '../../core/engine/transport.js'

/** What a job carries: the message, and the job's `stalledCounter` at our last deliberate move. */
export interface JobData {
  readonly message: TaskMessage
  /**
   * BullMQ raises `stalledCounter` only when it takes a job back from a consumer that lost its
   * lock; recording it at each defer / requeue tells a redelivery from our own moves.
   */
  readonly stalls: number
}

/** What a delivery needs of its transport. */
export interface DeliveryHost {
  /** Wall time (ms) at which something due at `at` on the app clock is due. */
  wallTimeOf(at: number): number
  /** A settle is under way / has ended (close waits for those under way). */
  track(settling: Promise<unknown>): void
}

/**
 * One job taken by a Worker, as a Delivery. The processor's promise (`done`) is settled only
 * after the delivery has moved the job itself (completed, failed, delayed, back to wait), and
 * always with a DelayedError, which tells the Worker that the processor moved the job and it has
 * only to fetch the next one. So each settle's promise is the broker's own answer (a lost lock
 * rejects it), and the Worker's slot is freed once the job is where it should be.
 */
export function deliveryOf(job: Job<JobData>, token: string, host: DeliveryHost): { delivery: Delivery; done: Promise<void> } {
  const data = job.data
  let release!: () => void
  const done = new Promise<void>((_, reject) => {
    release = () => reject(new DelayedError())
  })
  let settled = false
  const settle = (what: string, move: () => Promise<unknown>): Promise<void> => {
    if (settled) return Promise.reject(new Error(`Delivery of ${data.message.id}: ${what} after it was settled`))
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
    message: data.message,
    redelivered: job.stalledCounter > data.stalls,
    ack(failed) {
      return settle('ack', () =>
        failed
          ? // Unrecoverable: BullMQ never retries it (retries are celeriac's, through defer).
            job.moveToFailed(new UnrecoverableError('The run failed; its result is in the celeriac store'), token, false)
          : job.moveToCompleted(null, token, false),
      )
    },
    defer(next, at) {
      return settle('defer', async () => {
        await job.updateData({ message: next, stalls: job.stalledCounter })
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
