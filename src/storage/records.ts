import { StorageError } from '../core/model/errors.js'
import { NAMESPACES } from './types.js'
import type { Mutation, Namespace, StoredValue } from './types.js'

/**
 * What the records of one namespace are kept in: a Map (memory storage), or file storage's
 * RecordMap (file/record-map.ts), which is cheaper to fill with a big journal's keys.
 */
export interface NamespaceRecords extends Iterable<[string, StoredValue]> {
  readonly size: number
  get(key: string): StoredValue | undefined
  has(key: string): boolean
  set(key: string, value: StoredValue): unknown
  delete(key: string): boolean
}

/**
 * The records of every namespace, in memory, one map each: memory storage keeps nothing else,
 * and file storage reads from it and replays its journal into it. Maps in a Map (not an
 * object), so no name but a namespace's reaches anything.
 */
export class Records {
  readonly #maps: Map<Namespace, NamespaceRecords>

  /** `make`: a namespace's empty map (a Map unless the storage brings its own). */
  constructor(make: () => NamespaceRecords = () => new Map()) {
    this.#maps = new Map(NAMESPACES.map((ns) => [ns, make()]))
  }

  /** The map of a namespace; StorageError for a name that is none. */
  map(ns: Namespace): NamespaceRecords {
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
    let map: NamespaceRecords | undefined
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
