/** Task states, as in Celery (`celery/states.py`). Custom states (e.g. `PROGRESS`) are any other string. */
export const PENDING = 'PENDING'
export const RECEIVED = 'RECEIVED'
export const STARTED = 'STARTED'
export const SUCCESS = 'SUCCESS'
export const FAILURE = 'FAILURE'
export const RETRY = 'RETRY'
export const REVOKED = 'REVOKED'
export const REJECTED = 'REJECTED'
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
export const UNREADY_STATES: ReadonlySet<State> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY])
export const EXCEPTION_STATES: ReadonlySet<State> = new Set([RETRY, FAILURE, REVOKED])
/** States whose error `get()` raises. */
export const PROPAGATE_STATES: ReadonlySet<State> = new Set([FAILURE, REVOKED])
