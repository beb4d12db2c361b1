/**
 * Where queued messages wait: a delayed heap ordered by (eta, seq) and, per queue, ready lists
 * by priority (0–9, higher first) in FIFO order. All O(1) or O(log n); the only timer is one
 * clock timer for the earliest eta, never one per task.
 */
import type { Clock, TimerHandle } from './clock.js'
import type { TaskMessage } from '../model/message.js'
import { Heap } from './heap.js'

/**
 * How many items a {@link Fifo} chunk holds. Small enough that a burst of a few hundred messages
 * (a warm-up) already steps from chunk to chunk, so optimized code has seen that path.
 */
const CHUNK = 256

interface Chunk<T> {
  readonly items: Array<T | undefined>
  next: Chunk<T> | undefined
}

/**
 * A FIFO of fixed-size chunks in a list: push and shift are O(1) with no copy. It replaced an
 * array with a moving head compacted by `slice` once half of it was dead (past 1,024): that
 * compaction ran only in a backlog larger than any before it, so in the middle of a burst it
 * threw the optimized pump away (its branch had no type feedback) and, by reassigning the array
 * field, the optimized code of every function that read it (`--trace-deopt`, NOTES.md "Worker
 * threads at once, thr8"), then V8 compiled them again.
 */
class Fifo<T> {
  /** The chunk shifted from. */
  #first: Chunk<T> = { items: [], next: undefined }
  /** The chunk pushed to (the same as `#first` until it fills). */
  #last: Chunk<T> = this.#first
  /** The next item to shift in `#first`. */
  #read = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  push(item: T): void {
    let last = this.#last
    if (last.items.length === CHUNK) {
      last = last.next = { items: [], next: undefined }
      this.#last = last
    }
    last.items.push(item)
    this.#size++
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined
    let first = this.#first
    if (this.#read === CHUNK) {
      first = this.#first = first.next!
      this.#read = 0
    }
    // Cleared, so the message can be collected; the chunk is dropped once read to its end.
    const item = first.items[this.#read] as T
    first.items[this.#read++] = undefined
    this.#size--
    return item
  }

  *[Symbol.iterator](): IterableIterator<T> {
    let read = this.#read
    for (let chunk: Chunk<T> | undefined = this.#first; chunk !== undefined; chunk = chunk.next, read = 0) {
      for (let i = read; i < chunk.items.length; i++) yield chunk.items[i] as T
    }
  }

  /** Removes matching items; O(n), for purge and revoke, not the hot path. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = []
    const kept: T[] = []
    for (const item of this) {
      if (predicate(item)) removed.push(item)
      else kept.push(item)
    }
    this.#first = this.#last = { items: [], next: undefined }
    this.#read = 0
    this.#size = 0
    for (const item of kept) this.push(item)
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
