/**
 * The base of the test storages that wrap memory storage to watch or refuse writes: reads,
 * open and close go straight to the memory storage; a subclass writes (and transacts) itself.
 */
import { memoryStorage } from '../../src/index.js'
import type { Namespace, StoredValue } from '../../src/storage/types.js'

export abstract class MemoryBacked {
  protected readonly inner = memoryStorage()

  open(): Promise<void> {
    return this.inner.open()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    return this.inner.get(ns, key)
  }
  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    return this.inner.entries(ns)
  }
}
