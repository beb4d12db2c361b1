/**
 * What other handles sharing the storage changed (tabs on one IndexedDB): a result stored wakes
 * this handle's waiters, a revoke or pause applies here too, a cluster or event record is read,
 * and a consumer takes in the messages others sent.
 */
import type { TaskMessage } from '../model/message.js'
import type { StorageChange } from '../../storage/types.js'
import type { Cluster } from './cluster.js'
import type { CommitQueue } from './commit-queue.js'
import { PAUSED_KEY, type Pauses } from './pauses.js'
import type { RemoteEvents } from './remote-events.js'
import type { Results } from './results.js'
import type { Revocation } from './revocation.js'
import type { EngineState } from './state.js'

export class ExternalChanges {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #revocation: Revocation
  readonly #pauses: Pauses
  readonly #remote: RemoteEvents | undefined
  readonly #cluster: Cluster | undefined

  constructor(
    state: EngineState,
    commits: CommitQueue,
    results: Results,
    revocation: Revocation,
    pauses: Pauses,
    remote: RemoteEvents | undefined,
    cluster: Cluster | undefined,
  ) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#revocation = revocation
    this.#pauses = pauses
    this.#remote = remote
    this.#cluster = cluster
  }

  apply(changes: readonly StorageChange[]): void {
    const state = this.#state
    for (const change of changes) {
      if (change.ns === 'results') this.#results.notifyRecord(change.key)
      else if (change.ns === 'revoked') this.#revocation.syncRevoked(change.key)
      else if (change.ns === 'meta') {
        if (change.key === PAUSED_KEY) this.#pauses.sync()
        else if (this.#remote?.onChange(change.key) !== true) this.#cluster?.onChange(change.key)
      } else if (change.ns === 'messages' && state.consuming && !state.known.has(change.key) && !state.running.has(change.key)) this.#adopt(change.key)
    }
  }

  /** A message another handle sent: queue it here, unless it is already leased or gone. */
  #adopt(id: string): void {
    const state = this.#state
    state.pendingOps++
    this.#commits
      .store()
      .get('messages', id)
      .then(
        (value) => {
          const message = value as TaskMessage | undefined
          if (message !== undefined && !message.leased && !state.known.has(id) && !state.closed) {
            if (message.seq > state.seq) state.seq = message.seq
            state.known.add(id)
            state.scheduler.add(message)
            state.schedulePump()
          }
          state.opDone()
        },
        () => state.opDone(),
      )
  }
}
