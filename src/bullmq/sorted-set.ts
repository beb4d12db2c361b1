/**
 * A sorted set the way Redis orders one: by score, then by member (string order), so ties
 * come out as Redis returns them. Kept as a sorted array with a member → score map: adds at
 * the end (increasing scores, the common case) are cheap, and ranges are slices.
 */
export class SortedSet {
  readonly #scores = new Map<string, number>()
  #items: Array<{ m: string; s: number }> = []

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
    const items = this.#items
    const last = items[items.length - 1]
    if (last === undefined || before(last, member, score)) {
      items.push({ m: member, s: score })
      return
    }
    items.splice(this.#lowerBound(member, score), 0, { m: member, s: score })
  }

  remove(member: string): boolean {
    const score = this.#scores.get(member)
    if (score === undefined) return false
    this.#scores.delete(member)
    const i = this.#lowerBound(member, score)
    this.#items.splice(i, 1)
    return true
  }

  /** Members from rank `start` to `end` inclusive (negative counts from the end), lowest first or, with `rev`, highest first. */
  range(start: number, end: number, rev = false): string[] {
    const n = this.#items.length
    let from = start < 0 ? Math.max(n + start, 0) : start
    let to = end < 0 ? n + end : Math.min(end, n - 1)
    if (from > to || from >= n) return []
    const out: string[] = []
    if (!rev) {
      for (let i = from; i <= to; i++) out.push(this.#items[i]!.m)
    } else {
      ;[from, to] = [n - 1 - from, n - 1 - to]
      for (let i = from; i >= to; i--) out.push(this.#items[i]!.m)
    }
    return out
  }

  /** Members with `min <= score <= max`, lowest first, at most `limit`. */
  rangeByScore(min: number, max: number, limit = Number.POSITIVE_INFINITY): string[] {
    const out: string[] = []
    const items = this.#items
    for (let i = this.#firstScoreAtLeast(min); i < items.length; i++) {
      const { m, s } = items[i]!
      if (s > max || out.length >= limit) break
      out.push(m)
    }
    return out
  }

  /** The lowest member and its score, without removing it. */
  first(): { member: string; score: number } | undefined {
    const top = this.#items[0]
    return top === undefined ? undefined : { member: top.m, score: top.s }
  }

  popMin(): string | undefined {
    const top = this.#items.shift()
    if (top === undefined) return undefined
    this.#scores.delete(top.m)
    return top.m
  }

  /** Every member, lowest first. */
  members(): string[] {
    return this.#items.map((x) => x.m)
  }

  entries(): Array<[string, number]> {
    return this.#items.map((x) => [x.m, x.s])
  }

  clear(): void {
    this.#scores.clear()
    this.#items = []
  }

  /** The rank of the first item whose score is at least `min` (binary search, NaN-safe: none). */
  #firstScoreAtLeast(min: number): number {
    const items = this.#items
    let lo = 0
    let hi = items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (items[mid]!.s < min) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #lowerBound(member: string, score: number): number {
    const items = this.#items
    let lo = 0
    let hi = items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(items[mid]!, member, score)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function before(item: { m: string; s: number }, member: string, score: number): boolean {
  return item.s < score || (item.s === score && item.m < member)
}
