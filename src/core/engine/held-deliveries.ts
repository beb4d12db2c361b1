/**
 * The deliveries a process holds on a transport, not yet settled, by message id. A broker may
 * hand an id out again as a new message (Celery's `apply_async(task_id=...)` twice, a publisher's
 * retry); each runs after the run before it leaves (one run of an id at a time), so the
 * deliveries of an id are kept in order: a run's writes settle the oldest, a give-back takes the
 * newest (one that has not started, behind a run of its id).
 */
import type { Delivery } from './transport.js'

export class HeldDeliveries {
  /** The oldest delivery of each id held: the one its run's writes settle. */
  readonly #oldest = new Map<string, Delivery>()
  /** Further deliveries of an id held, oldest first (empty on nearly every path). */
  readonly #later = new Map<string, Delivery[]>()

  /**
   * Holds `delivery`, after the deliveries of its id held before it; or, `replacing`, in the
   * place of the oldest of its id (the broker took that one back and handed it here again).
   */
  add(delivery: Delivery, replacing: boolean): void {
    const id = delivery.message.id
    if (replacing || !this.#oldest.has(id)) {
      this.#oldest.set(id, delivery)
      return
    }
    const later = this.#later.get(id)
    if (later === undefined) this.#later.set(id, [delivery])
    else later.push(delivery)
  }

  has(id: string): boolean {
    return this.#oldest.has(id)
  }

  /** The oldest delivery of `id` held: the one a write of its run settles. */
  oldest(id: string): Delivery | undefined {
    return this.#oldest.get(id)
  }

  /** Takes the oldest delivery of `id` off the books (a write settles it): the next of its id, if any, is the oldest now. */
  settle(id: string): void {
    const next = this.#takeLater(id, 'first')
    if (next === undefined) this.#oldest.delete(id)
    else this.#oldest.set(id, next)
  }

  /** Takes the newest delivery of `id` off the books (given back), if one is held. */
  takeNewest(id: string): Delivery | undefined {
    const newest = this.#takeLater(id, 'last')
    if (newest !== undefined) return newest
    const delivery = this.#oldest.get(id)
    this.#oldest.delete(id)
    return delivery
  }

  /** The first or last of the further deliveries of `id`, taken out (none held: undefined). */
  #takeLater(id: string, end: 'first' | 'last'): Delivery | undefined {
    const later = this.#later.size === 0 ? undefined : this.#later.get(id)
    if (later === undefined) return undefined
    const taken = end === 'first' ? later.shift() : later.pop()
    if (later.length === 0) this.#later.delete(id)
    return taken
  }
}
