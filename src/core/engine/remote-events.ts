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
import type { CommitQueue } from './commit-queue.js'
import type { EngineState } from './state.js'
import type { RemoteRunEvent } from './transport.js'
import type { TransportStorage } from './transport-storage.js'

/** The `meta` records of the processes that listen (one per process, by node). */
const EVENTS = 'events:'

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
  /** The listening processes' records, as this process last read them. */
  readonly #listeners = new Set<string>()

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
    for (const [key] of await this.#commits.store().entries('meta')) if (key.startsWith(EVENTS) && key !== own) this.#listeners.add(key)
    this.#transport.reportRuns(this.#listeners.size > 0)
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
      await this.#commits.commit([{ op: 'put', ns: 'meta', key: `${EVENTS}${this.#node}`, value: { from: this.#node } }])
    })()
    return this.#opening
  }

  /** Stops listening; this process's record goes (the others' runs stop reporting once none is left). */
  async stop(): Promise<void> {
    this.#unwatch?.()
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
        else this.#listeners.add(key)
        this.#transport.reportRuns(this.#listeners.size > 0)
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
