/**
 * Deliveries: on a transport, the messages this process runs come from the broker, not from its
 * own sends. This room listens on the queues, takes each delivery into the scheduler, and decides
 * what a redelivery means (DESIGN §4), at delivery time, as recovery does after a crash in
 * process: a message whose result is stored only finishes; an early-ack task that had started
 * (its lease record is stored) ends with WorkerLostError; anything else runs (again).
 */
import type { MessageError } from '../model/errors.js'
import type { TaskMessage } from '../model/message.js'
import type { Delivery } from './transport.js'
import { NONE } from '../model/context.js'
import { READY_STATES, RETRY } from '../model/states.js'
import type { CommitQueue } from './commit-queue.js'
import type { Failure } from './failure.js'
import type { Results } from './results.js'
import type { EngineState } from './state.js'
import type { TransportStorage } from './transport-storage.js'

/** Celery's default `worker_prefetch_multiplier`. */
const PREFETCH_MULTIPLIER = 4

export class Deliveries {
  readonly #state: EngineState
  readonly #transport: TransportStorage
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #failure: Failure
  readonly #listening = new Set<string>()
  /** Queues to consume once they are resumed (paused when they were to be listened on). */
  readonly #deferred = new Set<string>()
  readonly #take = (delivery: Delivery): void => this.#taken(delivery)

  readonly #afterLoss: () => Promise<void>

  /** `afterLoss` finishes what a process that died may have left half sent (Recovery.afterLoss). */
  constructor(state: EngineState, transport: TransportStorage, commits: CommitQueue, results: Results, failure: Failure, afterLoss: () => Promise<void>) {
    this.#afterLoss = afterLoss
    this.#state = state
    this.#transport = transport
    this.#commits = commits
    this.#results = results
    this.#failure = failure
  }

  /** Consumes `queue` from now on, at its concurrency (once per queue); a paused one from its resume. */
  listen(queue: string): void {
    if (this.#listening.has(queue)) return
    const state = this.#state
    // A transport that can stop taking from a queue is never started on a paused one: nothing of
    // it is taken, so nothing is held here while other processes could run it after its resume.
    if (state.paused.has(queue) && this.#transport.transport.pause !== undefined) {
      this.#deferred.add(queue)
      return
    }
    this.#listening.add(queue)
    // Prefetch, as a Celery worker's: the broker hands this process up to PREFETCH_MULTIPLIER
    // times the queue's concurrency; the scheduler runs them within the concurrency, by
    // priority, and a task waiting for its rate-limit token does not hold the others back.
    const prefetch = state.config.concurrency(queue) * PREFETCH_MULTIPLIER
    state.hold(this.#transport.transport.listen(queue, prefetch, this.#take)).catch((error: unknown) => {
      this.#listening.delete(queue)
      state.log(`celeriac: could not consume queue '${queue}' on ${this.#transport.transport.name}: ${String(error)}`)
    })
  }

  /**
   * `queue` was paused: this process stops taking from it, and what it took and has not started
   * goes back to the broker, for whichever process resumes it. A transport that cannot stop
   * taking (no `pause`) keeps delivering; what it delivers waits here, not dispatched.
   */
  pause(queue: string): void {
    const { transport } = this.#transport
    if (transport.pause === undefined || !this.#listening.has(queue)) return
    const state = this.#state
    const now = state.clock.now()
    // The ready ones: one held to its eta stays (given back, it would be due at once).
    const back = state.scheduler.removeWhere((m) => m.eta === null || m.eta <= now, queue).map((m) => m.id)
    for (const id of back) state.known.delete(id)
    // And those waiting for a run of their id to leave (its id stays known: that run is here).
    for (const m of state.afterRun.take((m) => m.queue === queue)) back.push(m.id)
    const work = transport.pause(queue).then(() => this.#transport.giveBack(back))
    state.hold(work).catch((error: unknown) => state.log(`celeriac: could not stop taking from queue '${queue}' on ${transport.name}: ${String(error)}`))
  }

  /** `queue` was resumed: this process takes from it again (or starts to, if it never did). */
  resume(queue: string): void {
    const { transport } = this.#transport
    if (transport.resume === undefined) return
    const state = this.#state
    if (!this.#listening.has(queue)) {
      if (this.#deferred.delete(queue)) this.listen(queue)
      return
    }
    state
      .hold(transport.resume(queue))
      .catch((error: unknown) => state.log(`celeriac: could not take from queue '${queue}' on ${transport.name} again: ${String(error)}`))
  }

  /** A message the broker took and could not hand over (it dropped it): the app hears why. */
  rejected(error: MessageError): void {
    const state = this.#state
    state.events.emit('message-rejected', { error, queue: error.queue, timestamp: state.clock.now() })
    // Celery logs these as errors too: a listener-less app still shows them in its log.
    const text = `celeriac: dropped a message taken from '${error.queue}' on ${this.#transport.transport.name}: ${error.message}`
    state.events.emit('log', { id: error.taskId ?? '', level: 'error', text })
  }

  #taken(delivery: Delivery): void {
    const state = this.#state
    // Stopping: left unsettled, the broker delivers it again (here after a restart, or elsewhere).
    if (state.closed || !state.consuming) return
    const { message } = delivery
    // The broker took back a message this process still holds (its lock expired while the
    // process was starved: running, prefetched, or held to its eta or a token) and handed it here
    // again: nothing is lost, and this delivery takes the old one's place, to be settled by
    // whatever settles that. (One whose outcome write is under way is no longer held: it goes on
    // below, and its stored result, read after that write, acks this delivery.)
    const mine = delivery.redelivered && this.#transport.holds(message.id)
    this.#transport.hold(delivery, mine)
    if (mine) return
    message.seq = ++state.seq
    // acksLate is the worker's option, as in Celery: a producer that does not know this task
    // (a Python caller on Celery's wire) sends it false.
    if (!message.acksLate && state.config.profile(message.task)?.acksLate === true) message.acksLate = true
    if (delivery.redelivered)
      state.hold(this.#redelivered(message)).catch((error: unknown) => state.log(`celeriac: a redelivered message could not be handled: ${String(error)}`))
    else this.#queue(message)
  }

  /**
   * Queued once the writes issued before it are stored: a message this process sends can be
   * delivered back inside the write that sends it, and its `task-sent` comes first.
   */
  #queue(message: TaskMessage): void {
    this.#commits.commitThen(NONE, this.#schedule, message)
  }

  readonly #schedule = (message: TaskMessage): void => {
    const state = this.#state
    // Taken as its queue was paused (a fetch under way): back to the broker with the others.
    if (state.paused.has(message.queue) && this.#transport.transport.pause !== undefined) {
      state.hold(this.#transport.giveBack([message.id])).catch(() => undefined)
      return
    }
    state.known.add(message.id)
    state.scheduler.add(message)
    state.schedulePump()
  }

  async #redelivered(message: TaskMessage): Promise<void> {
    // A process died holding it: what it wrote last may not have reached the broker (messages
    // in the outbox, a chord counted complete whose body was not sent yet).
    void this.#state.hold(this.#afterLoss()).catch((error: unknown) => this.#state.log(`celeriac: finishing what a lost process left failed: ${String(error)}`))
    const record = await this.#results.read(message.id)
    if (record !== undefined && READY_STATES.has(record.state)) {
      // Its outcome is stored: only the ack was lost.
      await this.#commits.commit([{ op: 'delete', ns: 'messages', key: message.id }])
      return
    }
    // A lease record (STARTED, or PENDING when not tracked): it started, acked early.
    if (record !== undefined && record.state !== RETRY && !message.acksLate) {
      this.#state.known.add(message.id)
      await this.#failure.failLost(message)
      return
    }
    this.#queue({ ...message, redelivered: true })
  }
}
