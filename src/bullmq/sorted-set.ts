/**
 * A sorted set the way Redis orders one: by score, then by member (string order), so ties
 * come out as Redis returns them. Kept as a list of sorted chunks (at most CHUNK items each)
 * with a member → score map: an add or remove anywhere moves at most a chunk's items (a single
 * sorted array moved half the set on every insert into the middle: prioritized jobs, delayed
 * jobs out of due order), adds at the end are pushes, and ranges walk the chunks.
 */
interface Item {
  readonly m: string
  readonly s: number
}

/** Chunk size bound: a chunk that grows past it is split in two. */
const CHUNK = 512

export class SortedSet {
  readonly #scores = new Map<string, number>()
  /** Non-empty, each sorted, each chunk's items all before the next chunk's. */
  #chunks: Item[][] = []

  get size(): number {
    return this.#scores.size
  }

  has(member: string): boolean {
    return this.#scores.has(member)
  }

  score(member: string): number | undefined {
    return this.#scores.get(member)
  }

  /** Adds or re-scores a member. */
  add(member: string, score: number): void {
    if (this.#scores.has(member)) this.remove(member)
    this.#scores.set(member, score)
    const item = { m: member, s: score }
    const chunks = this.#chunks
    if (chunks.length === 0) {
      chunks.push([item])
      return
    }
    let c = this.#chunkFor(member, score)
    if (c === chunks.length) c--
    const chunk = chunks[c]!
    const last = chunk[chunk.length - 1]!
    if (before(last, member, score)) chunk.push(item)
    else chunk.splice(lowerBound(chunk, member, score), 0, item)
    if (chunk.length > CHUNK) chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1))
  }

  remove(member: string): boolean {
    const score = this.#scores.get(member)
    if (score === undefined) return false
    this.#scores.delete(member)
    const c = this.#chunkFor(member, score)
    const chunk = this.#chunks[c]!
    chunk.splice(lowerBound(chunk, member, score), 1)
    if (chunk.length === 0) this.#chunks.splice(c, 1)
    return true
  }

  /** Members from rank `start` to `end` inclusive (negative counts from the end), lowest first or, with `rev`, highest first. */
  range(start: number, end: number, rev = false): string[] {
    const n = this.size
    let from = start < 0 ? Math.max(n + start, 0) : start
    let to = end < 0 ? n + end : Math.min(end, n - 1)
    if (from > to || from >= n) return []
    if (rev) [from, to] = [n - 1 - to, n - 1 - from]
    const out: string[] = []
    let base = 0
    for (const chunk of this.#chunks) {
      if (base > to) break
      const next = base + chunk.length
      if (next > from) {
        const lo = Math.max(from - base, 0)
        const hi = Math.min(to - base, chunk.length - 1)
        for (let i = lo; i <= hi; i++) out.push(chunk[i]!.m)
      }
      base = next
    }
    return rev ? out.reverse() : out
  }

  /** Members with `min <= score <= max`, lowest first, at most `limit`. */
  rangeByScore(min: number, max: number, limit = Number.POSITIVE_INFINITY): string[] {
    const out: string[] = []
    const chunks = this.#chunks
    // The first chunk whose last score is at least min (NaN: the first chunk, as a scan would).
    let lo = 0
    let hi = chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = chunks[mid]!
      if (chunk[chunk.length - 1]!.s < min) lo = mid + 1
      else hi = mid
    }
    for (let c = lo; c < chunks.length; c++) {
      const chunk = chunks[c]!
      for (let i = c === lo ? firstScoreAtLeast(chunk, min) : 0; i < chunk.length; i++) {
        const { m, s } = chunk[i]!
        if (s > max || out.length >= limit) return out
        out.push(m)
      }
    }
    return out
  }

  /** The lowest member and its score, without removing it. */
  first(): { member: string; score: number } | undefined {
    const top = this.#chunks[0]?.[0]
    return top === undefined ? undefined : { member: top.m, score: top.s }
  }

  popMin(): string | undefined {
    const chunk = this.#chunks[0]
    if (chunk === undefined) return undefined
    const top = chunk.shift()!
    if (chunk.length === 0) this.#chunks.shift()
    this.#scores.delete(top.m)
    return top.m
  }

  /** Every member, lowest first. */
  members(): string[] {
    const out: string[] = []
    for (const chunk of this.#chunks) for (const x of chunk) out.push(x.m)
    return out
  }

  entries(): Array<[string, number]> {
    const out: Array<[string, number]> = []
    for (const chunk of this.#chunks) for (const x of chunk) out.push([x.m, x.s])
    return out
  }

  clear(): void {
    this.#scores.clear()
    this.#chunks = []
  }

  /** The first chunk whose last item is not before (member, score); `#chunks.length` when none. */
  #chunkFor(member: string, score: number): number {
    const chunks = this.#chunks
    let lo = 0
    let hi = chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = chunks[mid]!
      if (before(chunk[chunk.length - 1]!, member, score)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** The index of the first item not before (member, score). */
function lowerBound(items: readonly Item[], member: string, score: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(items[mid]!, member, score)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The index of the first item whose score is at least `min`. */
function firstScoreAtLeast(items: readonly Item[], min: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (items[mid]!.s < min) lo = mid + 1
    else hi = mid
  }
  return lo
}

function before(item: Item, member: string, score: number): boolean {
  return item.s < score || (item.s === score && item.m < member)
}
