/**
 * `celeriac`: the core, memory storage and the inline executor. Runs anywhere.
 *
 * The public surface, and only it (NOTES.md, "The public surface"; `api/celeriac.api.txt` is the
 * committed list): what DESIGN §3 names, the types of what a user passes in or gets back, and the
 * Storage, Executor and Clock seams. Classes a user only receives (from `chain()`, `app.locks`,
 * ...) are exported as types.
 */
export { Celeriac } from './core/app/app.js'
export { sharedTask } from './core/app/shared-task.js'
export type { TaskOptionsWithBase } from './core/app/app.js'
export { Task } from './core/task/task.js'
export type { Request, DeliveryInfo, Lock, TaskLogger } from './core/task/task.js'
export { Signature, signature } from './core/canvas/signature.js'
export { chain, group, chord } from './core/canvas/compose.js'
export type { Chain, Group, Chord, AnySignature, ResultOf } from './core/canvas/signature.js'
export { AsyncResult, GroupResult, EagerResult } from './core/result/result.js'
export type { GetOptions, StateUpdate, ResultStatus } from './core/result/result.js'
/**
 * The task states, as in Celery (`celery/states.py`), and the sets that group them.
 *
 * @example
 * const { state } = await r.status()
 * if (state === states.SUCCESS) console.log('done')
 * else if (states.READY_STATES.has(state)) console.log('over, but not a success:', state)
 */
export * as states from './core/model/states.js'
export type { State } from './core/model/states.js'
export {
  CeleriacError,
  NotRegistered,
  SerializationError,
  TaskError,
  Retry,
  MaxRetriesExceededError,
  TaskRevokedError,
  TimeLimitExceeded,
  SoftTimeLimitExceeded,
  ChordError,
  TimeoutError,
  Reject,
  Ignore,
  WorkerLostError,
  WorkerLoadError,
  StorageError,
  ConfigError,
  MessageError,
  ChannelClosedError,
} from './core/model/errors.js'
export { registerErrorClass } from './core/model/error-registry.js'
export type { ErrorClass } from './core/model/error-registry.js'
export type {
  ErrorCode,
  CeleriacErrorOptions,
  StorageErrorOptions,
  MessageErrorOptions,
  MessageErrorReason,
  RetryRequest,
} from './core/model/errors.js'
export type { Config } from './core/app/config.js'
export type { TaskOptions, TaskLockOption, SendOptions, QueueOptions, Route, Rate, ErrorMatcher, Network } from './core/model/options.js'
export type {
  CeleriacEvents,
  TaskEventBase,
  TaskSentEvent,
  TaskProgressEvent,
  TaskSucceededEvent,
  TaskFailedEvent,
  TaskRetriedEvent,
  TaskRevokedEvent,
  TaskRejectedEvent,
  MessageRejectedEvent,
  QueuePauseEvent,
  LogEvent,
} from './core/model/events.js'
export type { Locks, AcquireOptions } from './core/app/locks.js'
export type { Control, Inspect, TaskInfo, EngineStats, NodeInfo, QueueInfo } from './core/app/control.js'
export type { Schedules, ScheduleTiming, ScheduleOptions, ScheduleEntry, ScheduleInfo, MissedPolicy } from './core/schedule/schedules.js'
export { memoryStorage } from './storage/memory.js'
export type { Storage, StoredValue, StorageKey, Mutation, Namespace, StorageCapabilities, StorageChange, TransactStep, WriteOptions } from './storage/types.js'
export type {
  Transport,
  Delivery,
  TransportHost,
  RunReport,
  RemoteRunEvent,
  RemoteTask,
  TransportSchedules,
  BrokerSchedule,
  BrokerScheduleState,
} from './core/engine/transport.js'
export type { TaskMessage } from './core/model/message.js'
export { inline } from './core/executor/inline.js'
export type { Executor, ExecutorHost, PoolHealth } from './core/executor/types.js'
export type { WorkerLoadOptions } from './core/executor/load-options.js'
export { systemClock } from './core/time/clock.js'
export type { Clock, ClockParticipant, TimerHandle, TimerOptions } from './core/time/clock.js'
