/**
 * The records as they were at one instant, read lazily while calls keep changing them: the
 * snapshot a compaction writes over many turns of the event loop.
 *
 * Copy-on-write of changed keys: before a call changes a key whose namespace has not been walked
 * to the end yet, the value the key had at the snapshot point (or its absence) is kept once. The
 * walk reads the live maps (a Map iterator survives changes to its map) and takes the kept value
 * wherever there is one; keys deleted before the walk reached them come from the kept values at
 * the end. Nothing is copied up front, so taking the snapshot point costs no pause, and what is
 * kept is bounded by the keys changed while the walk runs.
 */
import type { Records } from '../records.js'
import { NAMESPACES } from '../types.js'
import type { Mutation, Namespace, StoredValue } from '../types.js'

/** A record as the walk yields it. */
export type FrozenRecord = readonly [ns: Namespace, key: string, value: StoredValue]

/** Kept for a key created after the snapshot point: the walk leaves it out. */
const ABSENT: unique symbol = Symbol('absent')
/** Kept for a key the walk has already yielded from the kept values. */
const YIELDED: unique symbol = Symbol('yielded')
type Kept = StoredValue | typeof ABSENT | typeof YIELDED

export class FrozenRecords {
  readonly #records: Records
  readonly #kept = new Map<Namespace, Map<string, Kept>>(NAMESPACES.map((ns) => [ns, new Map()]))
  /** Namespaces walked to the end: their changes need no copy any more. */
  readonly #walked = new Set<Namespace>()

  /** The snapshot point is now: call it between calls, never while one is half applied. */
  constructor(records: Records) {
    this.#records = records
  }

  /** Call before `mutations` are applied to the live records (they must name real namespaces). */
  keep(mutations: readonly Mutation[]): void {
    for (let i = 0; i < mutations.length; i++) {
      const { ns, key } = mutations[i]!
      if (this.#walked.has(ns)) continue
      const kept = this.#kept.get(ns)!
      if (kept.has(key)) continue
      const live = this.#records.map(ns)
      kept.set(key, live.has(key) ? live.get(key) : ABSENT)
    }
  }

  /**
   * Every record of the snapshot point, namespace by namespace; to be consumed while calls go on.
   * A key yielded and then changed before its namespace is walked is yielded a second time with
   * the same value (the walk cannot tell it was visited without remembering every key), so a
   * reader must let a later copy of a key replace an earlier one.
   */
  *walk(): Generator<FrozenRecord, void, undefined> {
    for (const ns of NAMESPACES) {
      const kept = this.#kept.get(ns)!
      for (const [key, value] of this.#records.map(ns)) {
        const before = kept.get(key)
        if (before === undefined && !kept.has(key)) yield [ns, key, value]
        else if (before !== ABSENT && before !== YIELDED) {
          kept.set(key, YIELDED)
          yield [ns, key, before]
        }
      }
      this.#walked.add(ns)
      // Changed before the walk reached them: deleted ones only show here; the rest are repeats.
      for (const [key, before] of kept) if (before !== ABSENT && before !== YIELDED) yield [ns, key, before]
      kept.clear()
    }
  }
}
