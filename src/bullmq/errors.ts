/**
 * BullMQ's negative status codes (its `ErrorCode` enum: the values are part of its wire
 * contract) and the errors its classes expect for them, with the exact messages of BullMQ's
 * `finishedErrors()`, so a test asserting a message passes here as on Redis.
 */
export const ErrorCode = {
  JobNotExist: -1,
  JobLockNotExist: -2,
  JobNotInState: -3,
  JobPendingChildren: -4,
  ParentJobNotExist: -5,
  JobLockMismatch: -6,
  ParentJobCannotBeReplaced: -7,
  JobBelongsToJobScheduler: -8,
  JobHasFailedChildren: -9,
  SchedulerJobIdCollision: -10,
  SchedulerJobSlotsBusy: -11,
} as const

export interface FinishedErrorInput {
  code: number
  jobId?: string
  parentKey?: string
  command: string
  state?: string
}

/** The Error BullMQ's classes expect for a negative code, with `code` set. */
export function finishedError({ code, jobId, parentKey, command, state }: FinishedErrorInput): Error {
  let error: Error
  switch (code) {
    case ErrorCode.JobNotExist:
      error = new Error(`Missing key for job ${jobId}. ${command}`)
      break
    case ErrorCode.JobLockNotExist:
      error = new Error(`Missing lock for job ${jobId}. ${command}`)
      break
    case ErrorCode.JobNotInState:
      error = new Error(`Job ${jobId} is not in the ${state} state. ${command}`)
      break
    case ErrorCode.JobPendingChildren:
      error = new Error(`Job ${jobId} has pending dependencies. ${command}`)
      break
    case ErrorCode.ParentJobNotExist:
      error = new Error(`Missing key for parent job ${parentKey}. ${command}`)
      break
    case ErrorCode.JobLockMismatch:
      error = new Error(`Lock mismatch for job ${jobId}. Cmd ${command} from ${state}`)
      break
    case ErrorCode.ParentJobCannotBeReplaced:
      error = new Error(`The parent job ${parentKey} cannot be replaced. ${command}`)
      break
    case ErrorCode.JobBelongsToJobScheduler:
      error = new Error(`Job ${jobId} belongs to a job scheduler and cannot be removed directly. ${command}`)
      break
    case ErrorCode.JobHasFailedChildren:
      // BullMQ throws its UnrecoverableError here; its Worker recognises one by name, so the
      // job is failed without a retry and this module needs no runtime import of bullmq.
      error = new Error(`Cannot complete job ${jobId} because it has at least one failed child. ${command}`)
      error.name = 'UnrecoverableError'
      break
    case ErrorCode.SchedulerJobIdCollision:
      error = new Error(`Cannot create job scheduler iteration - job ID already exists. ${command}`)
      break
    case ErrorCode.SchedulerJobSlotsBusy:
      error = new Error(`Cannot create job scheduler iteration - current and next time slots already have jobs. ${command}`)
      break
    default:
      error = new Error(`Unknown code ${code} error for ${jobId}. ${command}`)
  }
  ;(error as Error & { code: number }).code = code
  return error
}

/** Throws the error for `result` when it is a negative code; returns it otherwise. */
export function check<T>(result: T | number, input: Omit<FinishedErrorInput, 'code'>): T {
  if (typeof result === 'number' && result < 0) throw finishedError({ ...input, code: result })
  return result as T
}
