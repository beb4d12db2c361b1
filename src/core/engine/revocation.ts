/**
 * Revoking and purging: a revoked id is kept (here and in storage) so it never runs; its waiting
 * messages end REVOKED at once, a run not yet started is dropped, a started one is terminated on
 * request. Purging drops waiting messages without a trace.
 */
import type { TaskMessage } from '../model/message.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import { revokedFor } from './failure.js'
import type { Failure } from './failure.js'
import type { Gates } from './gates.js'
import type { Runs } from './runs.js'
import type { EngineState, Running } from './state.js'

export class Revocation {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #runs: Runs
  readonly #gates: Gates
  readonly #failure: Failure

  constructor(state: EngineState, commits: CommitQueue, runs: Runs, gates: Gates, failure: Failure) {
    this.#state = state
    this.#commits = commits
    this.#runs = runs
    this.#gates = gates
    this.#failure = failure
  }

  async revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    const state = this.#state
    const failure = this.#failure
    const idSet = new Set(ids)
    const removed = state.scheduler.removeWhere((m) => idSet.has(m.id))
    removed.push(...this.#gates.unpark((m) => idSet.has(m.id)))
    // Known until they end (their end deletes them), while the revoke is stored.
    for (const m of removed) state.known.hold(m.id)
    const terminated: Running[] = []
    const unstarted: Running[] = []
    for (const id of ids) {
      const run = state.running.get(id)
      if (run === undefined || run.settled) continue
      run.revokedWhileRunning = true
      if (!run.started) unstarted.push(run)
      else if (options.terminate === true) terminated.push(run)
    }
    // The revoke itself is stored first (a failure rejects to the caller); the messages it
    // removed then end REVOKED, counted for their chord.
    await this.#commits.commit(state.revoked.add(ids, options.terminate === true))
    // On a transport its waiting messages are in the broker (a process that receives one later
    // drops it, as Celery's workers do, but it is REVOKED at once here, as in process).
    if (state.transport !== undefined) removed.push(...(await state.transport.transport.remove(ids)))
    await Promise.all(removed.map((message) => failure.end(message, revokedFor(message, 'revoked'))))
    for (const run of unstarted) {
      // Prefetched but not started: it never runs (the worker drops it).
      state.executor.post({ type: 'cancel', id: run.message.id, reason: 'revoked' })
      await failure.abandon(run, revokedFor(run.message, 'revoked'))
    }
    for (const run of terminated) {
      this.#runs.cancel(run, 'terminated')
      await failure.abandon(run, revokedFor(run.message, 'terminated'))
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
          // A revoke with terminate made in another process stops the run of it here (Celery
          // broadcasts it to every worker; the one running it kills it).
          if (state.revoked.sync(id, value)) this.#terminateHere(id)
          state.opDone()
        },
        () => state.opDone(),
      )
  }

  #terminateHere(id: string): void {
    const run = this.#state.running.get(id)
    if (run === undefined || run.settled || !run.started) return
    run.revokedWhileRunning = true
    this.#runs.cancel(run, 'terminated')
    void this.#failure.abandon(run, revokedFor(run.message, 'terminated'))
  }

  /** Drops every waiting message (of one queue, or all); returns how many. `app.control.purge`. */
  async purge(queue: string | undefined): Promise<number> {
    const state = this.#state
    const match = (m: TaskMessage): boolean => queue === undefined || m.queue === queue
    const removed = [...state.scheduler.removeWhere(() => true, queue), ...this.#gates.unpark(match)]
    for (const m of removed) state.known.hold(m.id)
    const deletes: Mutation[] = []
    for (const m of removed) state.deleteMessage(deletes, m.id)
    await this.#commits.commit(deletes)
    for (const m of removed) state.known.delete(m.id)
    const dropped = state.transport === undefined ? 0 : await state.transport.purge(queue)
    state.checkWaiters()
    return removed.length + dropped
  }
}
