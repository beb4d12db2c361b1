/**
 * Remote events: on a transport, `app.events` also hears the runs of the app's other processes,
 * as Celery's monitor (`celery events`) hears every worker's task events. Both ends live here:
 *
 * - a process with listeners of run events (`task-started`, `-progress`, `-succeeded`, `-failed`,
 *   `-retried`, `-revoked`), at start or at the first one added, asks its transport for other processes' reports
 *   (`Transport.events`) and turns each into the typed event, decoded as its local ones are; it
 *   also stores an `events:<node>` record in `meta` (Celery's `enable_events`) until it stops;
 * - a consuming process makes its runs report their start, retry and end to the broker while any
 *   such record exists (TransportStorage.reportRuns), so nobody pays for events nobody hears.
 *
 * Its own runs it never hears back (the transport leaves them out): it emits those itself.
 */
import type { CeleriacEvents, TaskEventBase } from '../model/events.js'
import { decode, decodeError } from '../serializer/decode.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { EngineState } from './state.js'
import type { RemoteRunEvent } from './transport.js'
import type { TransportStorage } from './transport-storage.js'

/** The `meta` records of the processes that listen (one per process, by node). */
const EVENTS = 'events:'

/**
 * How long a listening process's record holds (wall time, ms) unless it is written again: a
 * process that dies without deleting it stops costing the workers its reports after that.
 */
const LISTENING_TTL = 60_000
/** How often a listening process writes its record again (real time). */
const REFRESH_EVERY = LISTENING_TTL / 3

/** A listening process's record. */
interface Listening {
  readonly from: string
  /** Wall time (ms) until which it holds. */
  readonly until: number
}

/** The events a transport carries across processes (what a listener of them opens). */
const CARRIED: ReadonlyArray<keyof CeleriacEvents> = ['task-started', 'task-progress', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked']

export class RemoteEvents {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #transport: TransportStorage
  readonly #node: string
  #stop: (() => Promise<void>) | undefined
  /** Listening under way or done (at most once). */
  #opening: Promise<void> | undefined
  /** Stops watching for a first listener. */
  #unwatch: (() => void) | undefined
  /** Until when each listening process's record holds (wall time), as this process last read them. */
  readonly #listeners = new Map<string, number>()
  #refresh: ReturnType<typeof setInterval> | undefined

  constructor(state: EngineState, commits: CommitQueue, transport: TransportStorage, node: string) {
    this.#state = state
    this.#commits = commits
    this.#transport = transport
    this.#node = node
  }

  /**
   * At start: reads which processes listen, so that this one's runs report to them, and listens
   * to other processes' runs now if this app has listeners of run events, else at the first one
   * added (it then goes on until the app stops).
   */
  async start(): Promise<void> {
    const own = `${EVENTS}${this.#node}`
    const expired: Mutation[] = []
    for (const [key, value] of await this.#commits.store().entries('meta')) {
      if (!key.startsWith(EVENTS) || key === own) continue
      const until = untilOf(value)
      // A record no one wrote again in time: its process died listening.
      if (until <= Date.now()) expired.push({ op: 'delete', ns: 'meta', key })
      else this.#listeners.set(key, until)
    }
    this.#report()
    if (expired.length > 0) await this.#commits.commit(expired)
    const state = this.#state
    if (this.#transport.transport.events === undefined) return
    if (CARRIED.some((name) => state.events.listenerCount(name) > 0)) await this.#open()
    else
      this.#unwatch = state.config.onListener?.((name) => {
        if (!CARRIED.includes(name) || this.#opening !== undefined || state.closed) return
        void state.hold(this.#open()).catch((error: unknown) => state.log(`celeriac: could not listen to other processes' events: ${String(error)}`))
      })
  }

  /** Listens to other processes' runs, and says so in the store (once). */
  #open(): Promise<void> {
    this.#unwatch?.()
    this.#opening ??= (async () => {
      this.#stop = await this.#transport.transport.events!(this.#state.config.queues, (event) => this.#heard(event))
      await this.#announce()
      // Real time on purpose: the record's life is the process's, not the app clock's.
      this.#refresh = setInterval(() => {
        const state = this.#state
        void state.hold(this.#announce()).catch((error: unknown) => state.log(`celeriac: could not say that this process listens to events: ${String(error)}`))
      }, REFRESH_EVERY)
      ;(this.#refresh as { unref?: () => void }).unref?.()
    })()
    return this.#opening
  }

  /** Writes (again) this process's record: it listens for another LISTENING_TTL. */
  #announce(): Promise<void> {
    const value: Listening = { from: this.#node, until: Date.now() + LISTENING_TTL }
    return this.#commits.commit([{ op: 'put', ns: 'meta', key: `${EVENTS}${this.#node}`, value }])
  }

  /** Runs held here report until the last listening process's record expires. */
  #report(): void {
    let until = 0
    for (const u of this.#listeners.values()) if (u > until) until = u
    this.#transport.reportRunsUntil(until)
  }

  /** Stops listening; this process's record goes (the others' runs stop reporting once none is left). */
  async stop(): Promise<void> {
    this.#unwatch?.()
    if (this.#refresh !== undefined) clearInterval(this.#refresh)
    const opening = this.#opening
    if (opening === undefined) return
    await opening.catch(() => undefined)
    const stop = this.#stop
    this.#stop = undefined
    if (stop === undefined) return
    await stop()
    await this.#commits.commit([{ op: 'delete', ns: 'meta', key: `${EVENTS}${this.#node}` }])
  }

  /** A `meta` key another process changed: whether it is a listening process's record. Handled if so. */
  onChange(key: string): boolean {
    if (!key.startsWith(EVENTS)) return false
    const state = this.#state
    void state
      .hold(this.#commits.store().get('meta', key))
      .then((value) => {
        if (value === undefined) this.#listeners.delete(key)
        else this.#listeners.set(key, untilOf(value))
        this.#report()
      })
      .catch((error: unknown) => state.log(`celeriac: could not read which processes listen to events (${key}): ${String(error)}`))
    return true
  }

  #heard(event: RemoteRunEvent): void {
    const state = this.#state
    if (state.closed) return
    const { task } = event
    const base: TaskEventBase = {
      id: task.id,
      name: task.name,
      timestamp: event.at,
      queue: task.queue,
      retries: task.retries,
      parentId: task.parentId,
      rootId: task.rootId,
    }
    const events = state.events
    switch (event.type) {
      case 'started':
        events.emit('task-started', base)
        return
      case 'progress':
        events.emit('task-progress', { ...base, state: event.state, meta: decode(event.meta) })
        return
      case 'retried':
        events.emit('task-retried', { ...base, error: event.error === null ? null : decodeError(event.error), eta: event.eta })
        return
      case 'succeeded':
        events.emit('task-succeeded', { ...base, result: decode(event.result), runtime: event.runtime })
        return
      case 'failed':
        events.emit('task-failed', { ...base, error: decodeError(event.error), runtime: event.runtime })
        return
      case 'revoked': {
        const reason = (decodeError(event.error) as { reason?: unknown }).reason
        events.emit('task-revoked', { ...base, reason: reason === 'expired' || reason === 'terminated' ? reason : 'revoked' })
        return
      }
    }
  }
}

/** Until when a listening process's record holds (0: not a record of ours). */
function untilOf(value: unknown): number {
  const until = (value as Partial<Listening> | null)?.until
  return typeof until === 'number' ? until : 0
}
