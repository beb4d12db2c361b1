/**
 * The app's emitter: eventemitter3's, which also tells whoever asks when a listener is added
 * (eventemitter3 has no `newListener` event), so that an app on a transport starts hearing other
 * processes' runs at the first listener of them, even one added after `app.start()`.
 */
import { EventEmitter } from 'eventemitter3'
import type { CeleriacEvents } from '../model/events.js'

type Name = EventEmitter.EventNames<CeleriacEvents>

export class AppEvents extends EventEmitter<CeleriacEvents> {
  readonly #watchers = new Set<(event: Name) => void>()
  /** Whether a listener was ever added: until then every count is 0 without a lookup (the engine asks on every task's path). */
  #heard = false

  /** Calls `watcher` with the event's name each time a listener is added; returns how to stop. */
  onListener(watcher: (event: Name) => void): () => void {
    this.#watchers.add(watcher)
    return () => void this.#watchers.delete(watcher)
  }

  override on<T extends Name>(event: T, fn: EventEmitter.EventListener<CeleriacEvents, T>, context?: unknown): this {
    super.on(event, fn, context)
    this.#added(event)
    return this
  }

  override addListener<T extends Name>(event: T, fn: EventEmitter.EventListener<CeleriacEvents, T>, context?: unknown): this {
    return this.on(event, fn, context)
  }

  override once<T extends Name>(event: T, fn: EventEmitter.EventListener<CeleriacEvents, T>, context?: unknown): this {
    super.once(event, fn, context)
    this.#added(event)
    return this
  }

  override listenerCount(event: Name): number {
    return this.#heard ? super.listenerCount(event) : 0
  }

  #added(event: Name): void {
    this.#heard = true
    for (const watcher of this.#watchers) watcher(event)
  }
}
