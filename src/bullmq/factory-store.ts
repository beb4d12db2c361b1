import type { BackendFactory } from 'bullmq'
import type { Store } from './store.js'

/**
 * The store behind each factory `bullmqBackend()` made, so that code given only the factory (the
 * transport) can look at its queues in memory: whether a job is on its way to a Worker, which
 * the virtual clock must wait for (`Transport.isQuiet`).
 */
const stores = new WeakMap<BackendFactory, Store>()

export function rememberStore(factory: BackendFactory, store: Store): BackendFactory {
  stores.set(factory, store)
  return factory
}

/** The store of a factory made by `bullmqBackend()`; undefined for any other (BullMQ's Redis one). */
export function storeOf(factory: BackendFactory): Store | undefined {
  return stores.get(factory)
}
