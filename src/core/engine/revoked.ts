/**
 * The revoked ids an engine remembers, as a Celery worker's revoked set: the most recent
 * {@link REVOKES_MAX}, each for {@link REVOKE_EXPIRES}, by the engine clock. Storage keeps each id
 * with the time of its revoke, so the set survives a restart; what falls out of the set (pushed
 * out by the bound, or past the expiry when loaded) is deleted there too, so the `revoked`
 * namespace stays bounded.
 */
import { LRUCache } from 'lru-cache'
import type { Clock } from '../time/clock.js'
import type { Mutation, StoredValue } from '../../storage/types.js'

/** How many revoked ids are remembered (Celery's `REVOKES_MAX`). */
export const REVOKES_MAX = 50_000
/** How long a revoked id is remembered, ms (Celery's `REVOKE_EXPIRES`, 10 800 s). */
export const REVOKE_EXPIRES = 10_800_000

export class RevokedSet {
  readonly #clock: Clock
  /**
   * Made at the first revoke: lru-cache allocates its arrays for all {@link REVOKES_MAX} entries
   * up front (~2 MB and ~11 ms of CPU here), which every engine start paid, most never to revoke.
   */
  #lru: LRUCache<string, true> | undefined
  /** Ids the bound pushed out since the last look. */
  readonly #evicted: string[] = []

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get #ids(): LRUCache<string, true> {
    this.#lru ??= new LRUCache<string, true>({
      max: REVOKES_MAX,
      ttl: REVOKE_EXPIRES,
      // Read the engine clock at every check: a virtual clock jumps, and lru-cache's default
      // resolution caches the time behind a real timer.
      ttlResolution: 0,
      perf: this.#clock,
      dispose: (_value, id, reason) => {
        if (reason === 'evict') this.#evicted.push(id)
      },
    })
    return this.#lru
  }

  /** Ids held, expired ones included until the bound pushes them out: a cheap "none revoked" check before {@link has}. */
  get size(): number {
    return this.#lru?.size ?? 0
  }

  has(id: string): boolean {
    return this.#lru?.has(id) ?? false
  }

  /** The ids remembered now, most recent first. */
  ids(): string[] {
    return this.#lru === undefined ? [] : [...this.#lru.keys()]
  }

  /**
   * Remembers `ids` as revoked now; returns the writes that store them and forget what the bound
   * pushed out. With `terminate` the stored entry says so, for the process that runs one (shared
   * storage, a transport: {@link sync}).
   */
  add(ids: Iterable<string>, terminate = false): Mutation[] {
    const now = this.#clock.now()
    const value: StoredRevoke = terminate ? { at: now, terminate: true } : now
    const mutations: Mutation[] = []
    for (const id of ids) {
      this.#ids.set(id, true)
      mutations.push({ op: 'put', ns: 'revoked', key: id, value })
      this.#forgetEvicted(mutations)
    }
    return mutations
  }

  /**
   * Loads the stored set (at start): entries past the expiry, and the oldest beyond the bound, are
   * forgotten; returns the deletes that drop them from storage.
   */
  load(entries: ReadonlyArray<[string, StoredValue]>): Mutation[] {
    const now = this.#clock.now()
    const mutations: Mutation[] = []
    const live: Array<[string, number]> = []
    for (const [id, value] of entries) {
      const at = revokedAt(value) ?? now
      if (now - at > REVOKE_EXPIRES) mutations.push({ op: 'delete', ns: 'revoked', key: id })
      else live.push([id, at])
    }
    live.sort((a, b) => a[1] - b[1])
    for (const [id, at] of live) {
      this.#ids.set(id, true, { start: at })
      this.#forgetEvicted(mutations)
    }
    return mutations
  }

  /**
   * What another handle stored for `id` (shared storage): a revoke, or undefined once it was
   * dropped there. Returns whether that revoke asked to terminate a run of it.
   */
  sync(id: string, stored: StoredValue | undefined): boolean {
    if (stored === undefined) this.#lru?.delete(id)
    else this.#ids.set(id, true, { start: revokedAt(stored) ?? this.#clock.now() })
    // That handle keeps its own bound; its storage writes are its own.
    this.#evicted.length = 0
    return typeof stored === 'object' && stored !== null && (stored as { terminate?: unknown }).terminate === true
  }

  #forgetEvicted(mutations: Mutation[]): void {
    for (const id of this.#evicted) mutations.push({ op: 'delete', ns: 'revoked', key: id })
    this.#evicted.length = 0
  }
}

/** A stored revoke: when it was made, and (an object) whether it asked to terminate a run. */
type StoredRevoke = number | { readonly at: number; readonly terminate: true }

function revokedAt(stored: StoredValue): number | undefined {
  if (typeof stored === 'number') return stored
  const at = (stored as { at?: unknown } | null)?.at
  return typeof at === 'number' ? at : undefined
}
