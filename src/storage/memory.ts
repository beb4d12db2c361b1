import { StorageError } from '../core/model/errors.js'
import { Records } from './records.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from './types.js'

const resolved = Promise.resolve()

/**
 * Keeps everything in this process's memory: fast, and gone when the process ends. The default
 * storage. Values still go through the serializer on their way in and out, as in every storage,
 * so a test on memory storage catches what a durable one would.
 *
 * @example
 * const app = new Celeriac({ storage: memoryStorage() })
 */
export function memoryStorage(): Storage {
  return new MemoryStorage()
}

class MemoryStorage implements Storage {
  readonly name = 'memory'
  readonly capabilities = { durable: false, shared: false } as const
  readonly #records = new Records()
  #open = false

  async open(): Promise<void> {
    this.#open = true
  }

  async close(): Promise<void> {
    this.#open = false
  }

  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    if (!this.#open) return this.#closed()
    return Promise.resolve(this.#records.get(ns, key))
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    if (!this.#open) return this.#closed()
    return Promise.resolve(this.#records.entries(ns))
  }

  write(mutations: readonly Mutation[]): Promise<void> {
    if (!this.#open) return this.#closed()
    try {
      this.#records.apply(mutations)
    } catch (error) {
      // A bad batch rejects the call; it never throws synchronously at the caller.
      return Promise.reject(error)
    }
    return resolved
  }

  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    if (!this.#open) return this.#closed()
    const values = new Array<StoredValue | undefined>(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      values[i] = this.#records.get(k.ns, k.key)
    }
    let out: TransactStep<R>
    try {
      out = step(values)
    } catch (error) {
      return Promise.reject(error)
    }
    try {
      this.#records.apply(out.mutations)
    } catch (error) {
      return Promise.reject(error)
    }
    return Promise.resolve(out.result)
  }

  #closed<T>(): Promise<T> {
    return Promise.reject(new StorageError('Memory storage is not open: start the app first (await app.start())'))
  }
}
