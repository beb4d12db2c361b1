/**
 * The executor protocol: one union of messages tagged by `type`, used between the engine and
 * wherever tasks run (inline, worker_threads, Web Workers). Everything on it is plain data.
 */
import type { Encoded } from './json.js'
import type { State } from './states.js'
import type { ResultRecord, SignatureJSON, TaskMessage } from './message.js'

/** Why a running task is being stopped. */
export type CancelReason = 'revoked' | 'terminated' | 'soft-time-limit' | 'time-limit' | 'shutdown'

/**
 * How a run starts where it runs: whether its runtime says `started` (when it reports starts at
 * all, as a worker does; the inline executor starts a run when it is posted and says nothing),
 * and whether its body waits for the engine's `go`. The engine picks `'report'`, `'record'` or
 * `'lease-first'` from its storage and the task; the pool turns `'report'` into `'on-arrival'`
 * for a run it sends to an idle worker.
 */
export type RunStart =
  /**
   * Memory storage, which records no start: the runtime says `started` when it begins the run
   * (a run held behind others starts later than it was sent), and the engine counts it started then.
   */
  | 'report'
  /**
   * Sent to an idle worker, which begins it the moment it arrives: the pool counts it as started
   * when it sends it, so the runtime says nothing (one postMessage less, on the round trip of a
   * task sent on its own). Only for a run whose start is not recorded (`'report'`).
   */
  | 'on-arrival'
  /**
   * Durable or shared storage, an acksLate task: the engine stores a lease when the run starts,
   * so the runtime says `started` even for a run that starts on arrival, and the lease waits for
   * that word: it covers only a run that really began (a worker slow to take it up, then a
   * crash, must not leave a task failed that never ran). The body begins at once. Inline, any
   * run on such storage (an early-ack one is posted only once its lease is stored).
   */
  | 'record'
  /**
   * Durable or shared storage, an early-ack task: the runtime says `started` as for `'record'`,
   * then holds the run until `go` says its lease (the ack) is stored, so a crash can fail it as
   * lost (at most once) but never run it twice, as Celery acks such a message before running it.
   */
  | 'lease-first'

/** The engine asks a runtime to run a task. */
export interface RunJob {
  readonly message: TaskMessage
  readonly hostname: string
  /** How the run starts where it runs. */
  readonly start: RunStart
}

/** How one run ended, as the tracer reports it. */
export type Outcome =
  | { readonly type: 'success'; readonly value: Encoded }
  | { readonly type: 'failure'; readonly error: Encoded }
  | {
      readonly type: 'retry'
      readonly error: Encoded | null
      readonly countdown: number | null
      readonly eta: number | null
      /** Draw the delay uniformly from [0, countdown] (full jitter); the engine draws, so a seeded random works everywhere. */
      readonly jitter: boolean
    }
  | { readonly type: 'ignore' }
  | { readonly type: 'reject'; readonly requeue: boolean; readonly error: Encoded }

/** What names a body given up on in its calls (FromRuntime `rpc`'s `from`): its message's context. */
export type GivenUpSender = Pick<TaskMessage, 'id' | 'rootId' | 'headers'>

/** Calls from a running task to the engine; each gets a reply. */
export type RpcCall =
  | { readonly type: 'send'; readonly signature: SignatureJSON }
  | { readonly type: 'sleep'; readonly ms: number }
  | { readonly type: 'lock.acquire'; readonly key: string; readonly ttl: number; readonly wait: number | null }
  | { readonly type: 'lock.release'; readonly key: string; readonly token: number; readonly owner: string }
  | { readonly type: 'lock.extend'; readonly key: string; readonly token: number; readonly owner: string; readonly ttl: number }
  | { readonly type: 'result.get'; readonly id: string }
  /** Replies with the record once it is ready (TimeoutError after `timeout` ms of the engine clock); the task is parked meanwhile. */
  | { readonly type: 'result.wait'; readonly id: string; readonly timeout: number | null }
  /** Replies with the next record written for `id` or, given `after`, with one that differs from it; parked meanwhile. */
  | { readonly type: 'result.next'; readonly id: string; readonly after?: ResultRecord }
  /** Ends the wait of call `requestId` of the same task (the task stopped waiting). */
  | { readonly type: 'wait.cancel'; readonly requestId: number }
  | { readonly type: 'result.forget'; readonly ids: readonly string[] }
  | { readonly type: 'revoke'; readonly ids: readonly string[]; readonly terminate: boolean }

/** Engine -> runtime. */
export type ToRuntime =
  | { readonly type: 'run'; readonly jobs: readonly RunJob[] }
  | { readonly type: 'cancel'; readonly id: string; readonly reason: CancelReason }
  | { readonly type: 'committed'; readonly id: string }
  /** The lease of a run held for it (RunStart `'lease-first'`) is stored: its body begins. */
  | { readonly type: 'go'; readonly id: string }
  | { readonly type: 'rpc-reply'; readonly id: string; readonly requestId: number; readonly ok: boolean; readonly value: Encoded }

/** Runtime -> engine. */
export type FromRuntime =
  /**
   * The run started. `onArrival`: the pool sent it to an idle worker, which starts it on arrival;
   * it counts as started now, and the worker's own `started` follows when the engine records
   * starts (RunStart `'record'` or `'lease-first'`).
   */
  | { readonly type: 'started'; readonly id: string; readonly onArrival?: true }
  | { readonly type: 'state'; readonly id: string; readonly state: State; readonly meta: Encoded }
  | { readonly type: 'outcome'; readonly id: string; readonly outcome: Outcome; readonly hooks: boolean }
  | { readonly type: 'finished'; readonly id: string }
  | {
      readonly type: 'rpc'
      readonly id: string
      readonly requestId: number
      readonly call: RpcCall
      /**
       * Made by a body the engine ended already (inline: a hard time limit or a terminate), with
       * its own message's context: the call is no run's. The run of its id the engine holds now
       * (a later run of that id may be there) neither parks on it (a lock it waits for) nor gains
       * what it sends, which names this message as its parent.
       */
      readonly from?: GivenUpSender
    }
  | { readonly type: 'log'; readonly id: string; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly text: string }
