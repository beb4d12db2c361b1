/**
 * `celeriac/bullmq`: BullMQ v6's queue backend on celeriac's storage, so unchanged BullMQ code
 * (Queue, Worker, QueueEvents, FlowProducer, job schedulers) runs with no Redis: in tests on
 * memory storage (and virtual time), in a desktop app on file storage. And `redisStore()`, a
 * celeriac Storage on Redis (results, chords, revoked ids and locks of the BullMQ transport).
 */
import type { BackendFactory, QueueBaseOptions } from 'bullmq'
import { CeleriacQueueBackend } from './backend.js'
import type { FactoryExtras } from './backend-connection.js'
import { type BullmqBackendOptions, resolveOptions } from './options.js'
import { rememberStore } from './factory-store.js'
import { storeFor } from './registry.js'

export type { BullmqBackendOptions } from './options.js'
export { redisStore } from '../redis/store.js'
export type { RedisStoreOptions } from '../redis/store.js'
export { bullmqTransport } from './transport/index.js'
export type { BullmqTransportLimiter, BullmqTransportOptions } from './transport/index.js'

/**
 * A BullMQ `BackendFactory` on celeriac storage. Every backend it builds (one per BullMQ class
 * instance) shares the queues of its storage, as BullMQ's classes expect of Redis.
 *
 * @example
 * import { Queue, Worker, setDefaultBackendFactory } from 'bullmq'
 * import { bullmqBackend } from 'celeriac/bullmq'
 * import { virtualClock } from 'celeriac/testing'
 *
 * const clock = virtualClock()
 * setDefaultBackendFactory(bullmqBackend({ clock }))
 * const connection = {} // BullMQ still asks for one; it is not used
 * const queue = new Queue('mail', { connection })
 * new Worker('mail', async (job) => console.log('sending', job.data), { connection })
 * await queue.add('welcome', { to: 'a@b.c' }, { delay: 3_600_000 })
 * await clock.advance(3_600_000) // the job runs now, in milliseconds of real time
 */
export function bullmqBackend(options?: BullmqBackendOptions): BackendFactory {
  const resolved = resolveOptions(options)
  const store = storeFor(resolved.storage, resolved.clock, resolved.virtual)
  const factory = ((name: string, opts: QueueBaseOptions, extras?: FactoryExtras) => {
    const prefix = (opts as { prefix?: string }).prefix ?? resolved.prefix
    return new CeleriacQueueBackend(store, name, prefix, opts, extras ?? {})
  }) as BackendFactory
  return rememberStore(factory, store)
}
