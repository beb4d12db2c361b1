/**
 * A binary min-heap: the scheduler's delayed messages by (eta, seq), the virtual clock's timers
 * by (at, seq). `before` must be a strict total order (ties broken by a sequence number), so the
 * order items leave in does not depend on the heap's shape. Push and pop are O(log n) and
 * allocate nothing but the array's growth.
 */
export class Heap<T> {
  readonly #items: T[] = []
  readonly #before: (a: T, b: T) => boolean

  /** `before(a, b)`: `a` leaves the heap before `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before
  }

  get size(): number {
    return this.#items.length
  }

  /** The first item, left in place. */
  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    const items = this.#items
    const before = this.#before
    let i = items.length
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(item, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  /** Takes the first item out. */
  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    const before = this.#before
    const n = items.length
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(items[right]!, items[left]!) ? right : left
      if (!before(items[child]!, last)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }

  /** Every item in the order they would leave; O(n log n), a copy. */
  sorted(): T[] {
    const before = this.#before
    return [...this.#items].sort((a, b) => (before(a, b) ? -1 : 1))
  }

  /** Removes the items that match and returns them; O(n log n), for purge and revoke, not the hot path. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const items = this.#items
    const removed: T[] = []
    const kept: T[] = []
    for (let i = 0; i < items.length; i++) (predicate(items[i]!) ? removed : kept).push(items[i]!)
    if (removed.length === 0) return removed
    items.length = 0
    for (let i = 0; i < kept.length; i++) this.push(kept[i]!)
    return removed
  }
}
