/**
 * A list of job ids the way Redis keeps `wait` and `active`: index 0 is the left end (the newest
 * push of LPUSH), workers pop from the right. Pushes at either end and pops are O(1); removing
 * an id from the middle leaves a stale slot that pops and ranges skip (compacted now and then).
 */
export class IdList {
  /** id → its slot now; a slot in the arrays that is not the id's current one is stale. */
  readonly #slot = new Map<string, Slot>()
  /** Left pushes, in push order (the logical list reads them backwards). */
  #left: Slot[] = []
  #right: Slot[] = []
  /** How many of `#left`'s first entries were popped from the right. */
  #leftStart = 0
  #rightStart = 0
  /** The places given to the last left push and the last right push (left pushes count down, right pushes up). */
  #lo = 0
  #hi = 0

  get length(): number {
    return this.#slot.size
  }

  has(id: string): boolean {
    return this.#slot.has(id)
  }

  /** LPUSH: the id becomes index 0. */
  pushLeft(id: string): void {
    this.remove(id)
    const slot = { id, pos: --this.#lo }
    this.#slot.set(id, slot)
    this.#left.push(slot)
  }

  /** RPUSH: the id becomes the last (next to be popped). */
  pushRight(id: string): void {
    this.remove(id)
    const slot = { id, pos: ++this.#hi }
    this.#slot.set(id, slot)
    this.#right.push(slot)
  }

  /**
   * Puts back an id at the place a stored list gave it (call in ascending place order, on an
   * empty list): later pushes go beyond the places already stored, which keep their meaning.
   */
  restore(id: string, place: number): void {
    this.remove(id)
    const slot = { id, pos: place }
    this.#slot.set(id, slot)
    this.#right.push(slot)
    this.#lo = Math.min(this.#lo, place)
    this.#hi = Math.max(this.#hi, place)
  }

  /** RPOP: the rightmost id. */
  popRight(): string | undefined {
    while (this.#right.length > this.#rightStart) {
      const e = this.#right.pop()!
      if (this.#slot.get(e.id) === e) {
        this.#slot.delete(e.id)
        return e.id
      }
    }
    while (this.#leftStart < this.#left.length) {
      const e = this.#left[this.#leftStart++]!
      if (this.#slot.get(e.id) === e) {
        this.#slot.delete(e.id)
        this.#maybeCompact()
        return e.id
      }
    }
    return undefined
  }

  /** The rightmost id without removing it. */
  peekRight(): string | undefined {
    for (let i = this.#right.length - 1; i >= this.#rightStart; i--) {
      const e = this.#right[i]!
      if (this.#slot.get(e.id) === e) return e.id
    }
    for (let i = this.#leftStart; i < this.#left.length; i++) {
      const e = this.#left[i]!
      if (this.#slot.get(e.id) === e) return e.id
    }
    return undefined
  }

  /** Where the id stands (smaller is further left); undefined when absent. */
  position(id: string): number | undefined {
    return this.#slot.get(id)?.pos
  }

  remove(id: string): boolean {
    if (!this.#slot.delete(id)) return false
    this.#maybeCompact()
    return true
  }

  /** Ids from index `start` to `end` inclusive, left to right (negative indexes count from the right). */
  range(start: number, end: number): string[] {
    const all = this.toArray()
    const n = all.length
    const from = start < 0 ? Math.max(n + start, 0) : start
    const to = end < 0 ? n + end : Math.min(end, n - 1)
    return from > to ? [] : all.slice(from, to + 1)
  }

  /** Every id, left to right. */
  toArray(): string[] {
    const out: string[] = []
    for (let i = this.#left.length - 1; i >= this.#leftStart; i--) {
      const e = this.#left[i]!
      if (this.#slot.get(e.id) === e) out.push(e.id)
    }
    for (let i = this.#rightStart; i < this.#right.length; i++) {
      const e = this.#right[i]!
      if (this.#slot.get(e.id) === e) out.push(e.id)
    }
    return out
  }

  clear(): void {
    this.#slot.clear()
    this.#left = []
    this.#right = []
    this.#leftStart = 0
    this.#rightStart = 0
  }

  #maybeCompact(): void {
    // The popped prefix of `#left` (a FIFO's every pop) is dropped once it is the larger part.
    if (this.#leftStart >= 1_024 && this.#leftStart * 2 >= this.#left.length) {
      this.#left = this.#left.slice(this.#leftStart)
      this.#leftStart = 0
    }
    const stored = this.#left.length - this.#leftStart + this.#right.length - this.#rightStart
    if (stored < 64 || stored < 2 * this.#slot.size) return
    const ids = this.toArray()
    this.#left = []
    this.#right = []
    this.#leftStart = 0
    this.#rightStart = 0
    for (const id of ids) this.#right.push(this.#slot.get(id)!)
  }
}

/** An id's place in the list; `pos` is what persistence stores (smaller is further left). */
interface Slot {
  readonly id: string
  readonly pos: number
}
