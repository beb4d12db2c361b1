import type { Clock } from '../core/time/clock.js'
import type { Storage } from '../storage/types.js'
import { Store } from './store.js'

/** One store per storage and clock in the process, so all of BullMQ's classes share queues. */
const stores = new WeakMap<Storage, Map<Clock, Store>>()

export function storeFor(storage: Storage, clock: Clock, virtual: boolean): Store {
  let byClock = stores.get(storage)
  if (byClock === undefined) {
    byClock = new Map()
    stores.set(storage, byClock)
  }
  let store = byClock.get(clock)
  if (store === undefined) {
    store = new Store(storage, clock, virtual)
    byClock.set(clock, store)
  }
  return store
}
