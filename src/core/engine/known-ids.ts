/**
 * The ids queued, scheduled or running here, for a send's taskId dedupe without a storage read.
 *
 * A consuming engine on memory storage (volatile, no transport) holds every such id in its own
 * structures already (the scheduler, the gates, the runs), so it keeps no set of them until a
 * dedupe first asks (or it stops consuming, or a result is forgotten): then the set is built from
 * those structures once and kept from then on. Keeping it for every message cost a quarter of an
 * inline task's CPU when many are queued at once (a hash table as large as the backlog, written
 * twice per task; NOTES.md, "Inline throughput").
 */
export class KnownIds {
  /** Undefined while not kept (see above). */
  #ids: Set<string> | undefined
  /** While not kept: ids out of those structures for a while but known until deleted (see {@link hold}). */
  readonly #held = new Set<string>()
  /** Whether the engine's structures alone can say which ids are here (see above). */
  readonly #derivable: () => boolean
  /** The ids here, read from the engine's structures (see {@link KnownIds.build}). */
  readonly #here: () => Iterable<string>

  constructor(derivable: () => boolean, here: () => Iterable<string>) {
    this.#derivable = derivable
    this.#here = here
    this.#ids = derivable() ? undefined : new Set()
  }

  /** The set, built now from the engine's structures if it was not kept until now. */
  #set(): Set<string> {
    if (this.#ids !== undefined) return this.#ids
    const ids = new Set(this.#here())
    for (const id of this.#held) ids.add(id)
    this.#held.clear()
    this.#ids = ids
    return ids
  }

  add(id: string): void {
    if (this.#ids !== undefined) this.#ids.add(id)
    else if (!this.#derivable()) this.#set().add(id)
  }

  /** The id left (ended, purged, handed back): nothing of it is queued or running here any more. */
  delete(id: string): void {
    if (this.#ids !== undefined) this.#ids.delete(id)
    else if (!this.#derivable()) this.#set().delete(id)
    else if (this.#held.size > 0) this.#held.delete(id)
  }

  /**
   * A known id leaves the engine's structures before it is deleted (a message revoked, purged
   * or ended without running, while its end is written): it stays known until {@link delete}.
   */
  hold(id: string): void {
    if (this.#ids === undefined && this.#derivable()) this.#held.add(id)
  }

  has(id: string): boolean {
    return this.#set().has(id)
  }

  /** Removes an id that may still be queued (its result forgotten): the structures cannot say that, so the set is kept from now on. */
  forget(id: string): void {
    this.#set().delete(id)
  }

  /** Keeps the set from now on (the engine stops consuming: its structures stop holding every id). */
  keep(): void {
    this.#set()
  }
}
