/**
 * Where queued messages wait: a delayed heap ordered by (eta, seq) and, per queue, ready lists
 * by priority (0–9, higher first) in FIFO order. All O(1) or O(log n); the only timer is one
 * clock timer for the earliest eta, never one per task.
 */
import type { Clock, TimerHandle } from './clock.js'
import type { TaskMessage } from '../model/message.js'
import { Heap } from './heap.js'

/** A FIFO with a moving head; compacts once the dead prefix is large, so shift is amortized O(1). */
class Fifo<T> {
  #items: T[] = []
  #head = 0

  get size(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head] = undefined as T
    this.#head++
    // Compact when half the array is dead: keeps memory bounded without O(n) per shift.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!
  }

  /** Removes matching items; O(n), for purge and revoke, not the hot path. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = []
    const kept: T[] = []
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!
      if (predicate(item)) removed.push(item)
      else kept.push(item)
    }
    this.#items = kept
    this.#head = 0
    return removed
  }
}

/** Ready messages of one queue: one FIFO per priority level. */
export class ReadyQueue {
  readonly #levels: Array<Fifo<TaskMessage>> = Array.from({ length: 10 }, () => new Fifo())
  #size = 0
  #top = -1

  get size(): number {
    return this.#size
  }

  push(message: TaskMessage): void {
    this.#levels[message.priority]!.push(message)
    this.#size++
    if (message.priority > this.#top) this.#top = message.priority
  }

  shift(): TaskMessage | undefined {
    while (this.#top >= 0) {
      const item = this.#levels[this.#top]!.shift()
      if (item !== undefined) {
        this.#size--
        return item
      }
      this.#top--
    }
    return undefined
  }

  *[Symbol.iterator](): IterableIterator<TaskMessage> {
    for (let p = 9; p >= 0; p--) yield* this.#levels[p]!
  }

  removeWhere(predicate: (message: TaskMessage) => boolean): TaskMessage[] {
    const removed: TaskMessage[] = []
    for (const level of this.#levels) removed.push(...level.removeWhere(predicate))
    this.#size -= removed.length
    return removed
  }
}

/** The delayed heap's order: by eta, then by seq (the order they were sent). */
function before(a: TaskMessage, b: TaskMessage): boolean {
  const ea = a.eta ?? 0
  const eb = b.eta ?? 0
  return ea < eb || (ea === eb && a.seq < b.seq)
}

/** Holds every queued message; tells the engine when messages become ready. */
export class Scheduler {
  readonly #clock: Clock
  readonly #onReady: () => void
  readonly #queues = new Map<string, ReadyQueue>()
  /** The queue {@link queue} gave last, and its name (queues are never removed). */
  #lastName: string | undefined
  #last: ReadyQueue | undefined
  readonly #delayed = new Heap(before)
  #timer: TimerHandle | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #readyCount = 0

  constructor(clock: Clock, onReady: () => void) {
    this.#clock = clock
    this.#onReady = onReady
  }

  /** Messages ready to run now, in every queue. */
  get readyCount(): number {
    return this.#readyCount
  }

  get delayedCount(): number {
    return this.#delayed.size
  }

  queue(name: string): ReadyQueue {
    // Most messages go to the queue the one before went to (every send asks).
    if (name === this.#lastName) return this.#last!
    let queue = this.#queues.get(name)
    if (queue === undefined) {
      queue = new ReadyQueue()
      this.#queues.set(name, queue)
    }
    this.#lastName = name
    this.#last = queue
    return queue
  }

  queueNames(): IterableIterator<string> {
    return this.#queues.keys()
  }

  /** Messages ready to run now in the queue `name` (0 for a queue it never held). */
  readyIn(name: string): number {
    return this.#queues.get(name)?.size ?? 0
  }

  /** Adds a message: ready now, or delayed until its eta. */
  add(message: TaskMessage): void {
    if (message.eta !== null && message.eta > this.#clock.now()) {
      this.#delayed.push(message)
      if (message.eta < this.#timerAt) this.#arm()
      return
    }
    this.queue(message.queue).push(message)
    this.#readyCount++
  }

  /** Takes the next ready message of a queue. */
  take(queue: ReadyQueue): TaskMessage | undefined {
    const message = queue.shift()
    if (message !== undefined) this.#readyCount--
    return message
  }

  /** Every delayed message, by eta. */
  delayed(): TaskMessage[] {
    return this.#delayed.sorted()
  }

  /** Every ready message, by queue then priority. */
  ready(): TaskMessage[] {
    const out: TaskMessage[] = []
    for (const queue of this.#queues.values()) out.push(...queue)
    return out
  }

  /** Removes messages (ready or delayed) that match; returns them. */
  removeWhere(predicate: (message: TaskMessage) => boolean, queueName?: string): TaskMessage[] {
    const removed: TaskMessage[] = []
    for (const [name, queue] of this.#queues) {
      if (queueName !== undefined && name !== queueName) continue
      const out = queue.removeWhere(predicate)
      this.#readyCount -= out.length
      removed.push(...out)
    }
    removed.push(...this.#delayed.removeWhere((m) => (queueName === undefined || m.queue === queueName) && predicate(m)))
    return removed
  }

  /**
   * Keeps one message per id: recovery and a send made while it ran may both have added the same
   * stored message (see Engine#startConsuming). One pass, run once when consuming starts; the
   * hot path keeps no index of ids.
   */
  dedupe(): void {
    const seen = new Set<string>()
    this.removeWhere((message) => {
      if (!seen.has(message.id)) {
        seen.add(message.id)
        return false
      }
      return true
    })
  }

  /** Stops the timer (app stop). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer)
    const next = this.#delayed.peek()
    if (next === undefined) {
      this.#timer = undefined
      this.#timerAt = Number.POSITIVE_INFINITY
      return
    }
    this.#timerAt = next.eta ?? 0
    this.#timer = this.#clock.setTimer(this.#timerAt, () => this.#due())
  }

  #due(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    let moved = false
    for (let next = this.#delayed.peek(); next !== undefined && (next.eta ?? 0) <= now; next = this.#delayed.peek()) {
      this.#delayed.pop()
      this.queue(next.queue).push(next)
      this.#readyCount++
      moved = true
    }
    this.#arm()
    if (moved) this.#onReady()
  }
}
