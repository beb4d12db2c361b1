/**
 * Recovery when consuming starts (after a crash, or when a tab takes over): queued messages go
 * back to their queues, a task that was running is run again (acksLate) or failed with
 * WorkerLostError (early ack), a chord counted full just before the crash sends its body; and
 * expired results are purged, then again every interval.
 */
import { WorkerLostError } from '../model/errors.js'
import type { ChordRecord } from '../model/context.js'
import type { ResultRecord, TaskMessage } from '../model/message.js'
import { FAILURE, READY_STATES } from '../model/states.js'
import { encodeError } from '../serializer/encode.js'
import type { TimerHandle } from '../time/clock.js'
import type { StoredValue } from '../../storage/types.js'
import type { Chords } from './chords.js'
import type { CommitQueue } from './commit-queue.js'
import type { Failure } from './failure.js'
import { purgeExpiredResults, purgeInterval } from './result-expiry.js'
import type { TransportStorage } from './transport-storage.js'
import type { EngineState } from './state.js'

export class Recovery {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #chords: Chords
  readonly #failure: Failure
  #purgeTimer: TimerHandle | undefined

  constructor(state: EngineState, commits: CommitQueue, chords: Chords, failure: Failure) {
    this.#state = state
    this.#commits = commits
    this.#chords = chords
    this.#failure = failure
  }

  /** Loads queued messages; a task that was running when the process died is resolved per DESIGN §4. */
  async recover(): Promise<void> {
    const state = this.#state
    const commits = this.#commits
    const messages = (await commits.store().entries('messages')).map(([, m]) => m as TaskMessage)
    const results = await commits.store().entries('results')
    const queued = new Set<string>()
    // Revokes past their expiry or beyond the bound are forgotten, in storage too.
    const mutations = state.revoked.load(await commits.store().entries('revoked'))
    const requeue: TaskMessage[] = []
    messages.sort((a, b) => a.seq - b.seq)
    const lost: TaskMessage[] = []
    for (const message of messages) {
      if (message.seq > state.seq) state.seq = message.seq
      queued.add(message.id)
      if (message.leased && !message.acksLate) lost.push(message)
      else if (message.leased) {
        // acksLate: it was running; run it again (at least once).
        const again = { ...message, leased: false, redelivered: true }
        mutations.push({ op: 'put', ns: 'messages', key: message.id, value: again })
        requeue.push(again)
      } else requeue.push(message)
    }
    for (const [id, value] of results) {
      const record = value as ResultRecord
      if (READY_STATES.has(record.state) || queued.has(id)) continue
      // Not ready, not queued: it was running when the process died, acked early.
      const error = new WorkerLostError(`Task ${record.task}[${id}] was running when its worker was lost`)
      mutations.push(state.put({ ...record, state: FAILURE, result: encodeError(error), dateDone: state.clock.now() }))
    }
    if (mutations.length > 0) await commits.store().write(mutations)
    if (state.consuming) for (const message of requeue) state.scheduler.add(message)
    for (const message of requeue) state.known.add(message.id)
    for (const message of lost) await this.#failure.failLost(message)
    // A chord whose last header task was counted just before a crash still sends its body.
    await this.#finishChords()
    await this.#purgeExpired(results)
  }

  /**
   * On a transport, consuming starts without reading queued messages (the broker holds them, and
   * delivers again what a dead process held, see Deliveries): the revoked ids are loaded, the
   * outbox is sent again (messages a crash kept from the broker), chords a crash left complete
   * finish, expired results are purged. Other processes' runs are live: nothing is failed here.
   */
  async recoverOnTransport(transport: TransportStorage): Promise<void> {
    const store = this.#commits.store()
    const mutations = this.#state.revoked.load(await store.entries('revoked'))
    if (mutations.length > 0) await store.write(mutations)
    await this.afterLoss(transport)
    await this.#purgeExpired()
  }

  /**
   * On a transport, when a delivery comes back from a process that died: what that process
   * stored but did not finish sending is sent (the outbox; a chord it counted complete).
   */
  async afterLoss(transport: TransportStorage): Promise<void> {
    await transport.resend()
    await this.#finishChords()
  }

  async #finishChords(): Promise<void> {
    for (const [key, value] of await this.#commits.store().entries('chords')) {
      if (key.includes('#')) continue
      const record = value as ChordRecord
      if (record.count >= record.size) await this.#chords.finishChord(key)
    }
  }

  /** Deletes expired result records (they already read as PENDING), then again every interval. */
  async #purgeExpired(known?: ReadonlyArray<[string, StoredValue]>): Promise<void> {
    const state = this.#state
    this.#purgeTimer = undefined
    try {
      await state.hold(purgeExpiredResults(this.#commits.store(), state.clock.now(), known))
    } catch (error) {
      state.log(`Purging expired results failed: ${String(error)}`)
    }
    if (!state.consuming || state.closed) return
    const at = state.clock.now() + purgeInterval(state.config.resultExpires)
    this.#purgeTimer = state.clock.setTimer(at, () => void this.#purgeExpired(), { background: true })
  }

  stop(): void {
    if (this.#purgeTimer !== undefined) this.#state.clock.clearTimer(this.#purgeTimer)
  }
}
