/**
 * The app's events to every SSE client: each event turned into its frame once, whatever the
 * number of clients. The app is listened to only while some client is connected: on a transport,
 * listening makes the app hear other processes' runs, which costs broker traffic. The tasks sent
 * meanwhile are remembered for a retry from the dashboard (`SentTasks`).
 */
import type { EventEmitter } from 'eventemitter3'
import { EVENT_NAMES } from '../core/model/events.js'
import type { CeleriacEventName, CeleriacEvents, TaskSentEvent } from '../core/model/events.js'
import type { SentTasks } from '../dashboard/sent-tasks.js'
import { frame } from './sse.js'
import type { EventClient } from './sse.js'
import { toWire } from './wire.js'

export class Broadcast {
  readonly #events: EventEmitter<CeleriacEvents>
  readonly #clients = new Set<EventClient>()
  readonly #listeners = new Map<CeleriacEventName, (payload: unknown) => void>()
  readonly #sent: SentTasks
  #dropped = 0

  constructor(events: EventEmitter<CeleriacEvents>, sent: SentTasks) {
    this.#events = events
    this.#sent = sent
  }

  /** Events dropped for slow clients since the server started, all clients together. */
  get dropped(): number {
    return this.#dropped
  }

  get clients(): number {
    return this.#clients.size
  }

  add(client: EventClient): void {
    this.#clients.add(client)
    if (this.#clients.size === 1) this.#listen()
  }

  remove(client: EventClient): void {
    if (!this.#clients.delete(client)) return
    if (this.#clients.size === 0) this.#unlisten()
  }

  /** A new client's way to count its drops here. */
  readonly countDrop = (): void => {
    this.#dropped++
  }

  ping(): void {
    for (const client of this.#clients) client.ping()
  }

  closeAll(): void {
    for (const client of [...this.#clients]) {
      client.close()
      this.remove(client)
    }
  }

  #listen(): void {
    for (const name of EVENT_NAMES) {
      const listener = (payload: unknown): void => {
        if (name === 'task-sent') this.#sent.record(payload as TaskSentEvent)
        const text = frame(name, JSON.stringify(toWire(payload)))
        for (const client of this.#clients) client.send(text)
      }
      this.#listeners.set(name, listener)
      this.#events.on(name, listener as never)
    }
  }

  #unlisten(): void {
    for (const [name, listener] of this.#listeners) this.#events.off(name, listener as never)
    this.#listeners.clear()
  }
}
