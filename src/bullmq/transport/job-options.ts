import type { TaskMessage } from '../../core/model/message.js'

/** A job's options but its id and delay: a send's, and a schedule's job template's. */
export interface JobOptions {
  readonly priority: number
  readonly attempts: number
  readonly removeOnComplete: { readonly age: number }
  readonly removeOnFail: { readonly age: number }
}

/** Celery's priorities run 0–9, higher first; BullMQ's lower first, and 0 means "none" (FIFO list). */
function jobPriority(priority: number): number {
  return 10 - Math.min(9, Math.max(0, Math.trunc(priority)))
}

/** The options of `message`'s job; finished jobs are kept `retention` ms (BullMQ: whole seconds). */
export function jobOptions(message: TaskMessage, retention: number): JobOptions {
  const age = Math.ceil(retention / 1000)
  return {
    priority: jobPriority(message.priority),
    // Retries are celeriac's (defer), never BullMQ's.
    attempts: 1,
    // Finished jobs are kept that long so that adding their id again is still skipped.
    removeOnComplete: { age },
    removeOnFail: { age },
  }
}
