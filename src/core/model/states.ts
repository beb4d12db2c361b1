/** Task states, as in Celery (`celery/states.py`). Custom states (e.g. `PROGRESS`) are any other string. */
export const PENDING = 'PENDING'
/** A worker took the task; it has not started. */
export const RECEIVED = 'RECEIVED'
/** The task is running. */
export const STARTED = 'STARTED'
/** The task returned; `get()` gives its result. */
export const SUCCESS = 'SUCCESS'
/** The task failed for good; `get()` rejects with its error. */
export const FAILURE = 'FAILURE'
/** The task failed and waits to run again. */
export const RETRY = 'RETRY'
/** The task was revoked (or expired); `get()` rejects with `TaskRevokedError`. */
export const REVOKED = 'REVOKED'
/** The task threw `Reject` and was requeued or dropped. */
export const REJECTED = 'REJECTED'
/** The task threw `Ignore`: no result is stored. */
export const IGNORED = 'IGNORED'
/** The state `self.progress()` records. */
export const PROGRESS = 'PROGRESS'

/** A built-in state or any custom state name. */
export type State =
  | typeof PENDING
  | typeof RECEIVED
  | typeof STARTED
  | typeof SUCCESS
  | typeof FAILURE
  | typeof RETRY
  | typeof REVOKED
  | typeof REJECTED
  | typeof IGNORED
  | (string & {})

/** States after which nothing changes: the result is final. */
export const READY_STATES: ReadonlySet<State> = new Set([SUCCESS, FAILURE, REVOKED])
/** States in which the result may still change. */
export const UNREADY_STATES: ReadonlySet<State> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY])
/** States whose stored result is an error. */
export const EXCEPTION_STATES: ReadonlySet<State> = new Set([RETRY, FAILURE, REVOKED])
/** States whose error `get()` raises. */
export const PROPAGATE_STATES: ReadonlySet<State> = new Set([FAILURE, REVOKED])
