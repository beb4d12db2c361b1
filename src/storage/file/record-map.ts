/**
 * The records of one namespace in file storage: a string-keyed map with `Map`'s behaviour for
 * what storage uses of it (get, has, set, delete, size, iteration in insertion order, live while
 * it changes), built for opening a big store. A `Map` of 1M fresh string keys spent most of a
 * journal's replay in cache misses (the bucket, the entry, and each chain candidate key's map
 * word, all in a 28 MB table and a heap of keys: NOTES.md, "Recovery time, open6" and "open7").
 * Here a key's slot holds its 32-bit hash beside its entry's index, so a new key costs one miss:
 * the key string is read only when a stored hash matches.
 *
 * Layout: `#slots`, an Int32Array of `[hash, entry]` pairs probed linearly (a hash is never 0,
 * so 0 is an empty slot; the table is at most half full); `#keys` and `#values`, the entries in
 * insertion order, a deleted one a hole (key `undefined`) until the holes are compacted away.
 *
 * Iteration reads the entry arrays by index, so it sees what `Map`'s iterator sees while the map
 * changes: entries deleted before it reaches them are skipped, entries added meanwhile are
 * visited, a key deleted and put again is visited at its new place. Compaction moves entries, so
 * it waits while an iterator is open (an iterator abandoned without `return()` would only keep
 * holes until the map is dropped; storage's loops always finish or return).
 */

import { Records } from '../records.js'
import type { StoredValue } from '../types.js'

/** Compaction runs once holes are at least this many and outnumber the live entries. */
const MIN_HOLES = 1024

/** log2 of the smallest table. */
const MIN_BITS = 4

export class RecordMap<V> implements Iterable<[string, V]> {
  /** log2 of the slot count. */
  #bits = MIN_BITS
  #slots = new Int32Array(2 << MIN_BITS)
  #keys: Array<string | undefined> = []
  #values: Array<V | undefined> = []
  #size = 0
  #holes = 0
  /** Iterators started and not finished: compaction waits for them. */
  #iterating = 0

  get size(): number {
    return this.#size
  }

  get(key: string): V | undefined {
    const slot = this.#find(key, hashOf(key))
    return slot < 0 ? undefined : this.#values[this.#slots[2 * slot + 1]!]
  }

  has(key: string): boolean {
    return this.#find(key, hashOf(key)) >= 0
  }

  set(key: string, value: V): this {
    this.#setHashed(key, hashOf(key), value)
    return this
  }

  #setHashed(key: string, hash: number, value: V): void {
    const slot = this.#find(key, hash)
    if (slot >= 0) {
      this.#values[this.#slots[2 * slot + 1]!] = value
      return
    }
    const empty = -1 - slot
    this.#slots[2 * empty] = hash
    this.#slots[2 * empty + 1] = this.#keys.length
    this.#keys.push(key)
    this.#values.push(value)
    this.#size++
    if (this.#size * 2 > 1 << this.#bits) this.#resize(this.#bits + 1)
  }

  /**
   * Puts each value of `values[from, to)` under its `id` (a string: the run of bare records of a
   * journal frame, checked by `intactItems`), as `set` of each in turn would. The ids are hashed in
   * one pass and put in a second, {@link BATCH} at a time: a new key's probe misses the cache (the
   * slots of a million keys are 16 MB), and with the hashing out of the loop the CPU has several
   * probes in flight at once (NOTES.md, "rec9").
   */
  setEachById(values: readonly unknown[], from: number, to: number): void {
    for (let start = from; start < to; start += BATCH) {
      const end = Math.min(to, start + BATCH)
      for (let i = start; i < end; i++) hashes[i - start] = hashOf((values[i] as { id: string }).id)
      for (let i = start; i < end; i++) {
        const value = values[i] as V
        this.#setHashed((value as { id: string }).id, hashes[i - start]!, value)
      }
    }
  }

  delete(key: string): boolean {
    const slot = this.#find(key, hashOf(key))
    if (slot < 0) return false
    const entry = this.#slots[2 * slot + 1]!
    this.#keys[entry] = undefined
    this.#values[entry] = undefined
    this.#size--
    this.#holes++
    this.#unslot(slot)
    if (this.#holes >= MIN_HOLES && this.#holes > this.#size && this.#iterating === 0) this.#compact()
    // A table an eighth full gives back its room (a drained backlog of 1M held ~16 MB), sized to
    // a quarter full so that puts after it do not grow it again at once. Iteration never reads
    // the slots, so this is safe while an iterator is open.
    if (this.#bits > MIN_BITS && this.#size * 8 < 1 << this.#bits) this.#resize(Math.max(MIN_BITS, 32 - Math.clz32(this.#size * 4)))
    return true
  }

  /** How many slots the table has now (a power of two): for tests of its growth and shrinking. */
  get capacity(): number {
    return 1 << this.#bits
  }

  *[Symbol.iterator](): Generator<[string, V], void, undefined> {
    this.#iterating++
    try {
      // The arrays and their length are read again at every step: appends are visited.
      for (let i = 0; i < this.#keys.length; i++) {
        const key = this.#keys[i]
        if (key !== undefined) yield [key, this.#values[i] as V]
      }
    } finally {
      this.#iterating--
    }
  }

  /** The slot holding `key`, or `-1 - s` where `s` is the empty slot that ends its probe. */
  #find(key: string, hash: number): number {
    const mask = (1 << this.#bits) - 1
    const slots = this.#slots
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const stored = slots[2 * s]!
      if (stored === 0) return -1 - s
      if (stored === hash && this.#keys[slots[2 * s + 1]!] === key) return s
    }
  }

  /** Empties `slot`, moving later slots of the probe run back so every key stays reachable (no tombstones). */
  #unslot(slot: number): void {
    const mask = (1 << this.#bits) - 1
    const slots = this.#slots
    let gap = slot
    for (let s = (gap + 1) & mask; slots[2 * s] !== 0; s = (s + 1) & mask) {
      const home = slots[2 * s]! & mask
      // The pair at s may fill the gap unless its home lies cyclically in (gap, s].
      const stays = gap <= s ? home > gap && home <= s : home > gap || home <= s
      if (stays) continue
      slots[2 * gap] = slots[2 * s]!
      slots[2 * gap + 1] = slots[2 * s + 1]!
      gap = s
    }
    slots[2 * gap] = 0
    slots[2 * gap + 1] = 0
  }

  /** Rebuilds the slots at 2^bits, from the stored hashes (no key is read). */
  #resize(bits: number): void {
    const old = this.#slots
    const mask = (1 << bits) - 1
    const slots = new Int32Array(2 << bits)
    for (let j = 0; j < old.length; j += 2) {
      const hash = old[j]!
      if (hash === 0) continue
      let s = hash & mask
      while (slots[2 * s] !== 0) s = (s + 1) & mask
      slots[2 * s] = hash
      slots[2 * s + 1] = old[j + 1]!
    }
    this.#bits = bits
    this.#slots = slots
  }

  /** Drops the holes from the entry arrays, keeping the order, and points the slots at the new places. */
  #compact(): void {
    const moved = new Int32Array(this.#keys.length)
    const keys: Array<string | undefined> = []
    const values: Array<V | undefined> = []
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i]
      if (key === undefined) continue
      moved[i] = keys.length
      keys.push(key)
      values.push(this.#values[i])
    }
    const slots = this.#slots
    for (let j = 0; j < slots.length; j += 2) if (slots[j] !== 0) slots[j + 1] = moved[slots[j + 1]!]!
    this.#keys = keys
    this.#values = values
    this.#holes = 0
  }
}

/**
 * A per-process seed: ids may come from callers (`taskId`, another producer on a broker), and
 * with a fixed hash a caller could pick ids that all share a probe run, making every call on the
 * namespace linear in their number (and a replay quadratic).
 */
const SEED = (Math.random() * 0x100000000) | 0

/** How many puts {@link RecordMap.setEachById} hashes before it probes for them. */
const BATCH = 4096

/** Their hashes (a replay is synchronous: one buffer serves every map). */
const hashes = new Int32Array(BATCH)

/**
 * FNV-1a over the key's UTF-16 units from the seed, then murmur3's finalizer: FNV's low bits
 * depend only on the units' low bits, and a slot is the hash's low bits. Never 0 (an empty slot).
 */
function hashOf(key: string): number {
  let hash = SEED ^ 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash === 0 ? 1 : hash
}

/** Records kept in RecordMaps: file storage's (memory storage keeps Maps). */
export function fileRecords(): Records {
  return new Records(() => new RecordMap<StoredValue>())
}
