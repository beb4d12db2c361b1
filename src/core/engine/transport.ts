/**
 * The Transport seam: the broker half of an app that runs across processes (Celery's broker,
 * where a {@link Storage} is its result backend). A transport carries task messages between
 * producers and consumers: queues, delays, priorities, delivery at most `concurrency` at a time
 * per queue, acks, and redelivery of what a dead consumer held. Everything else (results, chord
 * counters, revoked ids, locks) stays in `store`, a Storage every process of the app shares.
 *
 * Give an app one with `new Celeriac({ transport })` instead of `storage`.
 */
import type { Clock } from '../time/clock.js'
import type { MessageError } from '../model/errors.js'
import type { Encoded } from '../model/json.js'
import type { SignatureJSON, TaskMessage } from '../model/message.js'
import type { State } from '../model/states.js'
import type { Storage } from '../../storage/types.js'

/**
 * What the engine gives a transport when it opens it.
 *
 * @example
 * // A transport's open(), in outline: it keeps the host, to call it from the broker's own turns.
 * let host: TransportHost | undefined
 * async function open(given: TransportHost): Promise<void> {
 *   host = given
 *   host.log?.(`connected at ${new Date(host.clock.now()).toISOString()}`)
 * }
 * // later, when a message arrived in the broker's own turn (not in a call of the engine):
 * host?.wake()
 */
export interface TransportHost {
  /** The app's clock: a message's `eta` is a time on it. */
  readonly clock: Clock
  /**
   * Call after a delivery or settle that happened outside any call of the engine (a broker's own
   * turn), so that the engine re-checks whether it is quiet (virtual clock; see `isQuiet`).
   */
  readonly wake: () => void
  /** Tells the app's log what went wrong in a broker's own turn (no call of the app to fail). */
  readonly log?: (text: string) => void
  /**
   * Revokes tasks by id, as `app.control.revoke` does (the ids kept as revoked, a waiting one
   * ends REVOKED, a running one is stopped with `terminate`): for a broker whose own tools revoke
   * by broadcast (Celery's `app.control.revoke` from Python), heard by the transport. Never
   * rejects: a failure is the app's `log` event. The engine always gives it; optional for hosts
   * built by hand (tests).
   */
  readonly revoke?: (ids: readonly string[], options: { readonly terminate: boolean }) => Promise<void>
  /**
   * Call when a message taken from a queue is not one the transport can hand over (not its wire's
   * task message: bad envelope, content type or body, no task name); the transport has dropped it
   * already. The app emits `'message-rejected'` with `error` and logs it.
   */
  readonly rejected?: (error: MessageError) => void
  /**
   * Whether this app runs tasks named `name` (its own or its workers'): a transport that drops a
   * message asks, to store NotRegistered under its id where its wire's workers store one.
   */
  readonly defines?: (name: string) => boolean
}

/**
 * What a run held by this process tells the app's other processes through the broker, for their
 * `app.events` (BullMQ: the job's progress, return value or failed reason). `at` is this
 * process's app clock; encoded values are the store's (the serializer's) encoding.
 *
 * @example
 * // What a transport's Delivery.report carries to the other processes for a run at 40 %:
 * const report: RunReport = { type: 'progress', at: Date.now(), state: 'PROGRESS', meta: { current: 40, total: 100 } }
 */
export type RunReport =
  | { readonly type: 'started'; readonly at: number }
  | { readonly type: 'progress'; readonly at: number; readonly state: State; readonly meta: Encoded }
  | { readonly type: 'retried'; readonly at: number; readonly error: Encoded | null; readonly eta: number }
  | { readonly type: 'succeeded'; readonly at: number; readonly result: Encoded; readonly runtime: number }
  | { readonly type: 'failed'; readonly at: number; readonly error: Encoded; readonly runtime: number }
  | { readonly type: 'revoked'; readonly at: number; readonly error: Encoded }

/**
 * The task a {@link RemoteRunEvent} is about (its message's fields that events carry).
 *
 * @example
 * const describe = ({ name, id, queue, retries }: RemoteTask) => `${name}[${id}] on ${queue}, retry ${String(retries)}`
 */
export interface RemoteTask {
  readonly id: string
  readonly name: string
  readonly queue: string
  readonly retries: number
  readonly parentId: string | null
  readonly rootId: string | null
}

/**
 * A report of a run in another process, as the broker brought it.
 *
 * @example
 * const stop = await transport.events?.(['default'], (event: RemoteRunEvent) => {
 *   if (event.type === 'failed') console.warn(`${event.task.name}[${event.task.id}] failed in another process`)
 * })
 * await stop?.()
 */
export type RemoteRunEvent = RunReport & { readonly task: RemoteTask }

/**
 * A message handed to this process to run. Exactly one of `ack`, `defer` or `requeue` is called
 * once the engine has stored what the run left (its result, and its follow-up messages sent).
 *
 * @example
 * // How a transport hands a message over, in outline; `broker` stands for its client.
 * declare const broker: { ack(id: string): Promise<void>; delay(m: TaskMessage, at: number): Promise<void>; push(m: TaskMessage): Promise<void> }
 * function handOver(message: TaskMessage, deliver: (delivery: Delivery) => void): void {
 *   deliver({
 *     message,
 *     redelivered: false,
 *     ack: () => broker.ack(message.id),
 *     defer: (next, at) => broker.delay(next, at),
 *     requeue: (next) => broker.push(next),
 *   })
 * }
 */
export interface Delivery {
  readonly message: TaskMessage
  /**
   * It was delivered before and never settled: its consumer died or stalled (BullMQ: a stalled
   * job). The engine decides what that means (DESIGN §4: acksLate runs it again; an early-ack
   * run that started ends with WorkerLostError; a stored result only finishes it).
   */
  readonly redelivered: boolean
  /**
   * The run is over and its outcome stored: the broker forgets the message. `failed`: it ended in
   * failure. `end` (its succeeded / failed / revoked report) is given while some process listens
   * to other processes' events (see {@link Transport.events}); the broker carries it with the ack.
   */
  ack(failed: boolean, end?: RunReport): Promise<void>
  /**
   * Tells the broker, for other processes' events, that the run started, reported progress (a
   * custom state: given always, so the broker's own tools show it) or will be retried (given
   * before the `defer`). Absent: the broker carries no reports.
   */
  report?(report: RunReport): Promise<void>
  /** Back to the broker as `next` (same id), due at `at` on the app clock: a retry. */
  defer(next: TaskMessage, at: number): Promise<void>
  /** Back to the broker as `next` (same id), ready now: a rejected message requeued. */
  requeue(next: TaskMessage): Promise<void>
}

/**
 * A periodic task as a broker keeps it ({@link Transport.schedules}): its timing and bounds (times
 * on the app clock, epoch ms) and the one message each slot sends.
 *
 * @example
 * // The message a broker sends for the slot due at `due`: the schedule's, with its id and expiry filled in.
 * function slotMessage(schedule: BrokerSchedule, due: number): TaskMessage {
 *   const id = `${schedule.id}@${String(due)}`
 *   const { expires } = schedule.message
 *   return { ...schedule.message, id, rootId: id, expires: expires === null ? null : due + expires }
 * }
 */
export interface BrokerSchedule {
  readonly id: string
  readonly every: number | null
  readonly cron: string | null
  readonly tz: string | null
  /** As given (null: from the upsert on). */
  readonly startAt: number | null
  readonly endAt: number | null
  readonly limit: number | null
  readonly missed: 'once' | 'skip' | 'all'
  /** What the schedule sends, as `list()` shows it. */
  readonly signature: SignatureJSON
  /**
   * The message of every slot, but for two fields the broker fills in per slot: `id` (and
   * `rootId`) become `<schedule id>@<due ms>`, the same in every process, and `expires`, if not
   * null, is a duration (ms) counted from the slot's due time.
   */
  readonly message: TaskMessage
}

/**
 * A schedule the broker holds, with how far it has fired.
 *
 * @example
 * for (const { schedule, next, count } of (await transport.schedules?.list()) ?? []) {
 *   console.log(schedule.id, `${String(count)} sent`, next === null ? 'ended' : new Date(next).toISOString())
 * }
 */
export interface BrokerScheduleState {
  readonly schedule: BrokerSchedule
  /** The next slot (app clock, epoch ms), or null once the schedule has ended. */
  readonly next: number | null
  /** Slots sent so far. */
  readonly count: number
}

/**
 * Periodic tasks kept and fired by the broker itself (BullMQ's job schedulers), so that each
 * slot is one message whichever processes run. The app's `schedules` call these instead of
 * firing slots itself. Each rejects with ConfigError for what the broker cannot do.
 *
 * @example
 * // In outline, schedules a broker keeps in memory (a real one keeps them where every process sees them).
 * const held = new Map<string, BrokerScheduleState>()
 * const schedules: TransportSchedules = {
 *   upsert: async (schedule) => {
 *     const state = { schedule, next: schedule.startAt ?? Date.now() + (schedule.every ?? 60_000), count: 0 }
 *     held.set(schedule.id, state)
 *     return state
 *   },
 *   remove: async (id) => held.delete(id),
 *   list: async () => [...held.values()],
 * }
 */
export interface TransportSchedules {
  /** Creates or replaces the schedule; the same timing as before keeps its place (next slot, count). */
  upsert(schedule: BrokerSchedule): Promise<BrokerScheduleState>
  /** Deletes the schedule and its pending slot; resolves with whether it existed. */
  remove(id: string): Promise<boolean>
  /** Every schedule the broker holds for this app, by id. */
  list(): Promise<BrokerScheduleState[]>
}

/**
 * A broker for an app's messages. Implementations: `bullmqTransport()` (`celeriac/bullmq`), and
 * an in-memory one in the tests. A contract suite (test/transport/contract.ts) runs on each.
 *
 * @example
 * // A transport of your own, in outline (the contract suite says what each call must do).
 * class MyBroker implements Transport {
 *   readonly name = 'my-broker'
 *   readonly store = memoryStorage() // a Storage every process of the app shares, in a real one
 *   async open(host: TransportHost) { host.log?.('connected') }
 *   async close() {}
 *   async add(messages: readonly TaskMessage[]) { console.log(`to send: ${String(messages.length)}`) }
 *   async listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void) {}
 *   async remove(ids: readonly string[]): Promise<TaskMessage[]> { return [] }
 *   async forget(ids: readonly string[]) {}
 *   async purge(queue: string | undefined) { return 0 }
 * }
 * const app = new Celeriac({ transport: new MyBroker() })
 */
export interface Transport {
  readonly name: string
  /**
   * The queue a message goes to when neither its send, the app's routes nor its task name one,
   * and the app's only queue when it declares none (Celery's wire: `celery`). Absent: `default`.
   */
  readonly defaultQueue?: string
  /**
   * Workers outside celeriac (Python Celery) consume this broker: a send may name a task or a
   * queue that no app of this broker declares, as Celery's `send_task` may. Absent: false.
   */
  readonly foreignWorkers?: boolean
  /**
   * Where the app keeps results, chord counters, revoked ids and locks, and the messages a run
   * sends until the broker holds them. Shared by every process of the app; it should `watch`, so
   * a result stored by another process wakes this one's waiters.
   */
  readonly store: Storage
  /** Connects. Called once by `app.start()`, after `store.open()`. */
  open(host: TransportHost): Promise<void>
  /**
   * Stops delivering and disconnects. Deliveries not settled stay with the broker and are
   * delivered again (to any process) as redelivered. Called by `app.stop()`, before `store.close()`.
   */
  close(): Promise<void>
  /**
   * Sends messages; resolves once the broker holds every one. Idempotent by id: a message whose
   * id the broker holds already (waiting, delayed, running, or finished and still remembered) is
   * skipped, not sent twice. `eta` (app clock, ms) delays a message; `priority` 0–9, higher first,
   * FIFO among equals.
   */
  add(messages: readonly TaskMessage[]): Promise<void>
  /**
   * Consumes `queue` from now on (a no-op if it does already): `deliver` gets each message taken,
   * at most `concurrency` not yet settled at once. Called at start for each queue the app
   * declares, and for each other queue it sends to.
   */
  listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void>
  /**
   * Stops taking messages from `queue` in this handle (`app.control.pause`; BullMQ:
   * `Worker.pause()`), until {@link resume}: deliveries already handed over stay the engine's to
   * settle (it gives back the ones it has not started). Every process of the app hears the pause
   * through the shared store and calls this on its own handle. Absent: the broker keeps
   * delivering up to the queue's prefetch, and what it delivers waits in the process until the
   * queue is resumed.
   */
  pause?(queue: string): Promise<void>
  /** Takes messages from `queue` again after {@link pause}. Present when `pause` is. */
  resume?(queue: string): Promise<void>
  /**
   * Takes out of the broker the messages of `ids` that wait (ready or delayed, not delivered);
   * resolves with them (a revoke ends each REVOKED). Ids it does not hold waiting are ignored.
   */
  remove(ids: readonly string[]): Promise<TaskMessage[]>
  /**
   * Stops remembering the finished messages of `ids` (the app forgot their results), so that a
   * send of the same id runs again. Waiting and running ones are left alone.
   */
  forget(ids: readonly string[]): Promise<void>
  /** Drops the messages waiting (ready or delayed) in `queue`, or in every queue; resolves with how many. */
  purge(queue: string | undefined): Promise<number>
  /**
   * Periodic tasks through the broker (`app.schedules` on this transport). Absent: an upsert is a
   * ConfigError, saying {@link noSchedules}.
   */
  readonly schedules?: TransportSchedules
  /** Without `schedules`: why this broker keeps no periodic tasks, and what to use instead. */
  readonly noSchedules?: string
  /**
   * For a broker that delivers in turns of its own (not in a call of the engine): false while a
   * message it will deliver without the clock moving is on its way. Absent: always quiet.
   */
  isQuiet?(): boolean
  /**
   * Starts hearing the reports of runs held by other handles (processes), on the queues of
   * `queues` and on each queue this handle adds to or listens on (now or later): `listener` gets
   * each once, and never one of this handle's own deliveries. Resolves, once listening, with a
   * function that stops it. Absent: the app hears only its own runs.
   */
  events?(queues: readonly string[], listener: (event: RemoteRunEvent) => void): Promise<() => Promise<void>>
}
