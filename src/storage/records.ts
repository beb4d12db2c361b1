import { StorageError } from '../core/model/errors.js'
import { NAMESPACES } from './types.js'
import type { Mutation, Namespace, StoredValue } from './types.js'

/**
 * The records of every namespace, in memory, one map each: memory storage keeps nothing else,
 * and file storage reads from it and replays its journal into it. Maps in a Map (not an
 * object), so no name but a namespace's reaches anything.
 */
export class Records {
  readonly #maps = new Map<Namespace, Map<string, StoredValue>>(NAMESPACES.map((ns) => [ns, new Map()]))

  /** The map of a namespace; StorageError for a name that is none. */
  map(ns: Namespace): Map<string, StoredValue> {
    const map = this.#maps.get(ns)
    if (map === undefined) throw new StorageError(`Unknown storage namespace '${String(ns)}'`)
    return map
  }

  get(ns: Namespace, key: string): StoredValue | undefined {
    return this.map(ns).get(key)
  }

  /** Every record of a namespace, as a new array. */
  entries(ns: Namespace): Array<[string, StoredValue]> {
    return [...this.map(ns)]
  }

  /** Throws StorageError, before anything is written, when a mutation names no namespace. */
  check(mutations: readonly Mutation[]): void {
    let checked: Namespace | undefined
    for (let i = 0; i < mutations.length; i++) {
      const ns = mutations[i]!.ns
      if (ns === checked) continue
      this.map(ns)
      checked = ns
    }
  }

  /** Applies a batch all or nothing: checked first, so a bad one writes nothing. */
  apply(mutations: readonly Mutation[]): void {
    this.check(mutations)
    // A batch is mostly runs of one namespace (a tick's results): its map is looked up once per run.
    let ns: Namespace | undefined
    let map: Map<string, StoredValue> | undefined
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!
      if (m.ns !== ns) {
        ns = m.ns
        map = this.#maps.get(ns)!
      }
      if (m.op === 'put') map!.set(m.key, m.value)
      else map!.delete(m.key)
    }
  }
}
