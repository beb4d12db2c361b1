/**
 * Revoking and purging: a revoked id is kept (here and in storage) so it never runs; its waiting
 * messages end REVOKED at once, a run not yet started is dropped, a started one is terminated on
 * request. Purging drops waiting messages without a trace.
 */
import { TaskRevokedError } from '../model/errors.js'
import type { TaskMessage } from '../model/message.js'
import { REVOKED } from '../model/states.js'
import { encodeError } from '../serializer/encode.js'
import type { Mutation } from '../../storage/types.js'
import type { Chords } from './chords.js'
import type { CommitQueue } from './commit-queue.js'
import type { Failure } from './failure.js'
import type { Gates } from './gates.js'
import type { Results } from './results.js'
import type { Runs } from './runs.js'
import type { EngineState, Running } from './state.js'

export class Revocation {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #runs: Runs
  readonly #gates: Gates
  readonly #chords: Chords
  readonly #failure: Failure

  constructor(state: EngineState, commits: CommitQueue, results: Results, runs: Runs, gates: Gates, chords: Chords, failure: Failure) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#runs = runs
    this.#gates = gates
    this.#chords = chords
    this.#failure = failure
  }

  async revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    const state = this.#state
    const mutations = state.revoked.add(ids)
    const idSet = new Set(ids)
    const removed = state.scheduler.removeWhere((m) => idSet.has(m.id))
    removed.push(...this.#gates.unpark((m) => idSet.has(m.id)))
    for (const message of removed) {
      state.deleteMessage(mutations, message.id)
      mutations.push(state.put(state.record(message, REVOKED, encodeError(new TaskRevokedError(`Task ${message.id} was revoked`, 'revoked')))))
    }
    const terminated: Running[] = []
    const unstarted: Running[] = []
    for (const id of ids) {
      const run = state.running.get(id)
      if (run === undefined || run.settled) continue
      run.revokedWhileRunning = true
      if (!run.started) unstarted.push(run)
      else if (options.terminate === true) terminated.push(run)
    }
    await this.#commits.commit(mutations)
    await this.#chords.countParts(removed.filter((m) => m.chord !== null))
    for (const message of removed) {
      state.known.delete(message.id)
      this.#results.notifyRecord(message.id)
      state.emit('task-revoked', message, { reason: 'revoked' })
    }
    for (const run of unstarted) {
      // Prefetched but not started: it never runs (the worker drops it).
      state.executor.post({ type: 'cancel', id: run.message.id, reason: 'revoked' })
      await this.#failure.settleAbandoned(run, REVOKED, new TaskRevokedError(`Task ${run.message.id} was revoked`, 'revoked'), 'revoked')
    }
    for (const run of terminated) {
      this.#runs.cancel(run, 'terminated')
      await this.#failure.settleAbandoned(run, REVOKED, new TaskRevokedError(`Task ${run.message.id} was terminated`, 'terminated'))
    }
  }

  /** Another handle revoked an id, or forgot one: its stored entry is the truth. */
  syncRevoked(id: string): void {
    const state = this.#state
    state.pendingOps++
    this.#commits
      .store()
      .get('revoked', id)
      .then(
        (value) => {
          state.revoked.sync(id, value)
          state.opDone()
        },
        () => state.opDone(),
      )
  }

  /** Drops every waiting message (of one queue, or all); returns how many. `app.control.purge`. */
  async purge(queue: string | undefined): Promise<number> {
    const state = this.#state
    const match = (m: TaskMessage): boolean => queue === undefined || m.queue === queue
    const removed = [...state.scheduler.removeWhere(() => true, queue), ...this.#gates.unpark(match)]
    const deletes: Mutation[] = []
    for (const m of removed) state.deleteMessage(deletes, m.id)
    await this.#commits.commit(deletes)
    for (const m of removed) state.known.delete(m.id)
    state.checkWaiters()
    return removed.length
  }
}
