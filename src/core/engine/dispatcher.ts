/**
 * The dispatcher: the pump takes ready messages from each queue within its concurrency, passes
 * them through the gates, and hands them to the executor in one post per tick; with a
 * prefetching executor their lease is stored first, otherwise they are marked started first.
 */
import type { TaskMessage } from '../model/message.js'
import type { Mutation } from '../../storage/types.js'
import { NONE } from '../model/context.js'
import type { ReadyQueue } from '../time/scheduler.js'
import type { CommitQueue } from './commit-queue.js'
import type { Gates } from './gates.js'
import type { UnrunReason } from './queue.js'
import type { Starts } from './starts.js'
import { newRun } from './state.js'
import type { EngineState, Running } from './state.js'

export class Dispatcher {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #starts: Starts
  readonly #gates: Gates

  constructor(state: EngineState, commits: CommitQueue, starts: Starts, gates: Gates) {
    this.#state = state
    this.#commits = commits
    this.#starts = starts
    this.#gates = gates
  }

  pump(): void {
    const state = this.#state
    state.pumpScheduled = false
    if (!state.consuming) return state.checkWaiters()
    const gates = this.#gates
    const scheduler = state.scheduler
    const now = state.clock.now()
    let batch: TaskMessage[] | undefined
    let unrun: Array<[TaskMessage, UnrunReason]> | undefined
    for (const name of scheduler.queueNames()) {
      const queue: ReadyQueue = scheduler.queue(name)
      if (queue.size === 0) continue
      const limit = state.config.concurrency(name)
      let running = state.runningPerQueue.get(name) ?? 0
      while (running < limit) {
        const message = scheduler.take(queue)
        if (message === undefined) break
        if (state.isRevoked(message.id)) (unrun ??= []).push([message, 'revoked'])
        else if (message.expires !== null && now >= message.expires) (unrun ??= []).push([message, 'expired'])
        else if (gates.holdOffline(message)) continue
        else if (!gates.takeToken(message, now)) continue
        else {
          running++
          ;(batch ??= []).push(message)
        }
      }
      state.runningPerQueue.set(name, running)
    }
    if (unrun !== undefined) gates.finishUnrun(unrun)
    if (batch !== undefined) this.#startBatch(batch)
    state.checkWaiters()
  }

  #startBatch(batch: TaskMessage[]): void {
    const state = this.#state
    const now = state.clock.now()
    const received = state.events.listenerCount('task-received') > 0
    const runs = new Array<Running>(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i]!
      const run = newRun(message, now)
      runs[i] = run
      state.running.set(message.id, run)
      // A retry continues the same task: it was received once.
      if (received && message.retries === 0) state.events.emit('task-received', state.eventBase(message))
    }
    if (state.executor.reportsStart) {
      // A prefetching executor says when each task really starts (limits are armed then, and a
      // lost worker's unstarted runs go to another). The lease is durable before the runs leave,
      // though: a task must never start unrecorded, or a crash would run an early-ack task twice.
      // So after a crash, prefetched early-ack tasks fail with WorkerLostError like started ones
      // (Celery's early-ack risk, widened by the prefetch window); acksLate ones run again.
      const lease: Mutation[] = state.volatile ? NONE : batch.map((message) => ({ op: 'put', ns: 'messages', key: message.id, value: { ...message, leased: true } }))
      this.#commits.commitThen(lease, () => this.#dispatch(runs), undefined, (_: unknown, error: unknown) => this.#starts.notStarted(runs, error))
      return
    }
    this.#starts.markStarted(runs, () => this.#dispatch(runs))
  }

  /** Hands the runs that are still on (none settled them meanwhile) to the executor, in one post. */
  #dispatch(runs: readonly Running[]): void {
    const jobs = []
    const hostname = this.#state.config.hostname
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!
      if (!run.settled) jobs.push({ message: run.message, hostname })
    }
    if (jobs.length > 0) this.#state.executor.post({ type: 'run', jobs })
  }
}
