/**
 * Pauses: the queues `app.control.pause` stopped. One `meta` record holds them (queue -> when it
 * was paused), changed by read-modify-write so that pauses made at once by several handles
 * (tabs, processes on a transport) all stay; it is read at start, so a pause survives a restart,
 * and on shared storage each handle hears another's change and follows it. A paused queue still
 * takes sends; the dispatcher takes nothing from it (state.paused), and on a transport this
 * process stops taking its messages from the broker (Deliveries.pause).
 */
import type { StoredValue } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { EngineState } from './state.js'

/** The `meta` record of the paused queues: `{ [queue]: epoch ms of its pause }`. */
export const PAUSED_KEY = 'queues:paused'

type PausedRecord = Readonly<Record<string, number>>

/** What a queue's pause changes beyond the dispatcher (on a transport: what this process takes). */
export interface PauseHooks {
  paused(queue: string): void
  resumed(queue: string): void
}

export class Pauses {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #hooks: PauseHooks

  constructor(state: EngineState, commits: CommitQueue, hooks: PauseHooks) {
    this.#state = state
    this.#commits = commits
    this.#hooks = hooks
  }

  /** Reads the stored pauses (at start, before anything is dispatched or taken); no events. */
  async load(): Promise<void> {
    this.#adopt(await this.#commits.store().get('meta', PAUSED_KEY), false)
  }

  /** Pauses `queue` (stored first; a failure rejects to the caller). Idempotent. */
  pause(queue: string): Promise<void> {
    const at = this.#state.clock.now()
    return this.#change((record) => (Object.hasOwn(record, queue) ? record : { ...record, [queue]: at }))
  }

  /** Resumes `queue`: what waited in it is dispatched. Idempotent. */
  resume(queue: string): Promise<void> {
    return this.#change((record) => {
      if (!Object.hasOwn(record, queue)) return record
      const { [queue]: _dropped, ...rest } = record
      return rest
    })
  }

  /** Another handle changed the record (shared storage): the stored one is the truth. */
  sync(): void {
    const state = this.#state
    void state.hold(this.#commits.store().get('meta', PAUSED_KEY)).then(
      (value) => this.#adopt(value, true),
      (error: unknown) => state.log(`celeriac: could not read the paused queues another process changed: ${String(error)}`),
    )
  }

  async #change(edit: (record: PausedRecord) => PausedRecord): Promise<void> {
    const next = await this.#commits.transact([{ ns: 'meta', key: PAUSED_KEY }], ([value]) => {
      const record = recordOf(value)
      const edited = edit(record)
      if (edited === record) return { mutations: [], result: record }
      const mutations =
        Object.keys(edited).length === 0
          ? [{ op: 'delete' as const, ns: 'meta' as const, key: PAUSED_KEY }]
          : [{ op: 'put' as const, ns: 'meta' as const, key: PAUSED_KEY, value: edited }]
      return { mutations, result: edited }
    })
    this.#adopt(next, true)
  }

  /** Makes this engine follow `value` (the stored record), with an event per change when `announce`. */
  #adopt(value: StoredValue | undefined, announce: boolean): void {
    const state = this.#state
    if (state.closed) return
    const record = recordOf(value)
    const next = new Map(Object.entries(record))
    const now = state.clock.now()
    for (const [queue, at] of next) {
      if (state.paused.has(queue)) continue
      state.paused.set(queue, at)
      this.#hooks.paused(queue)
      if (announce) state.events.emit('queue-paused', { queue, timestamp: now })
    }
    for (const queue of [...state.paused.keys()]) {
      if (next.has(queue)) continue
      state.paused.delete(queue)
      this.#hooks.resumed(queue)
      if (announce) state.events.emit('queue-resumed', { queue, timestamp: now })
    }
    if (!announce) return
    // What waited in a resumed queue is ready now; whenIdle may hold now that a queue paused.
    state.schedulePump()
    state.checkWaiters()
  }
}

/** The stored record, or an empty one (absent, or not a record this code wrote). */
function recordOf(value: StoredValue | undefined): PausedRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
  return value as PausedRecord
}
