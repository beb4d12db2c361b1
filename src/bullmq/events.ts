/**
 * A queue's event stream, shaped like the Redis stream QueueEvents reads: ids `<ms>-<seq>`,
 * strictly increasing, values all strings, capped in length. Readers block until an event
 * newer than their cursor arrives.
 *
 * Trimming advances a start index instead of shifting the array (a full stream trims one entry
 * per add, and shifting 10k entries each time made adds O(maxLen)); the dead prefix is dropped
 * once it is the larger part. An entry keeps a copy of its fields and makes its id and flat
 * field list when read: most entries are trimmed unread, and flattening cost more than the rest
 * of an add.
 */
export interface StreamEntry {
  readonly id: string
  readonly ms: number
  readonly seq: number
  readonly fields: string[]
}

type Fields = Record<string, string | number | boolean | undefined>

class Entry implements StreamEntry {
  #id: string | undefined
  #fields: Fields | string[]

  constructor(
    readonly ms: number,
    readonly seq: number,
    fields: Fields,
  ) {
    this.#fields = fields
  }

  get id(): string {
    this.#id ??= `${this.ms}-${this.seq}`
    return this.#id
  }

  /** Field, value, field, value... as strings, without the undefined ones. */
  get fields(): string[] {
    const raw = this.#fields
    if (Array.isArray(raw)) return raw
    const flat: string[] = []
    for (const k of Object.keys(raw)) {
      const v = raw[k]
      if (v !== undefined) flat.push(k, typeof v === 'string' ? v : String(v))
    }
    this.#fields = flat
    return flat
  }
}

export class EventStream {
  #entries: Entry[] = []
  /** Entries before this index were trimmed. */
  #head = 0
  #lastMs = 0
  #lastSeq = 0
  readonly #waiters = new Set<() => void>()

  get length(): number {
    return this.#entries.length - this.#head
  }

  /** The newest id (`0-0` when nothing was ever added). */
  get lastId(): string {
    return `${this.#lastMs}-${this.#lastSeq}`
  }

  /** Appends an event, trims to `maxLen` and wakes readers; returns its id. */
  add(fields: Fields, maxLen: number): string {
    return this.append(fields, maxLen).id
  }

  /** `add`, for a caller that does not need the id. */
  append(fields: Fields, maxLen: number): StreamEntry {
    const ms = Math.max(Date.now(), this.#lastMs)
    const seq = ms === this.#lastMs ? this.#lastSeq + 1 : 0
    this.#lastMs = ms
    this.#lastSeq = seq
    // A copy: the caller's object may change after; its values are primitives.
    const entry = new Entry(ms, seq, { ...fields })
    this.#entries.push(entry)
    if (this.length > maxLen) this.trim(maxLen)
    if (this.#waiters.size > 0) for (const wake of [...this.#waiters]) wake()
    return entry
  }

  /** Keeps the newest `maxLen` entries; returns how many went. */
  trim(maxLen: number): number {
    const extra = this.length - Math.max(0, maxLen)
    if (extra <= 0) return 0
    this.#head += extra
    if (this.#head >= 1_024 && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
    return extra
  }

  /** Entries strictly after `id` (`<ms>-<seq>` or `<ms>`). */
  after(id: string): StreamEntry[] {
    const [msText, seqText] = id.split('-')
    const ms = Number(msText) || 0
    const seq = seqText === undefined ? Number.POSITIVE_INFINITY : Number(seqText) || 0
    const entries = this.#entries
    // Binary search for the first entry newer than the cursor.
    let lo = this.#head
    let hi = entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const e = entries[mid]!
      if (e.ms < ms || (e.ms === ms && e.seq <= seq)) lo = mid + 1
      else hi = mid
    }
    return entries.slice(lo)
  }

  /** Calls `wake` on the next append; returns the unsubscribe. */
  onAppend(wake: () => void): () => void {
    this.#waiters.add(wake)
    return () => this.#waiters.delete(wake)
  }

  clear(): void {
    this.#entries = []
    this.#head = 0
  }
}
