import type { Transport } from '../../core/engine/transport.js'
import { type BullmqTransportOptions, resolveTransportOptions } from './options.js'
import { BullmqTransport } from './transport.js'

export type { BullmqTransportLimiter, BullmqTransportOptions } from './options.js'

/**
 * A celeriac Transport on BullMQ: the app's messages become BullMQ jobs (Queue, Worker,
 * FlowProducer), so any number of processes on any number of machines share its queues
 * through Redis. Results and the rest stay in `store`.
 *
 * @example
 * import { Celeriac } from 'celeriac'
 * import { bullmqTransport } from 'celeriac/bullmq'
 *
 * const connection = { host: '127.0.0.1', port: 6379 }
 * const app = new Celeriac({ transport: bullmqTransport({ connection, store: redisStore({ connection }) }) })
 *
 * @example
 * // in tests, with no Redis and on virtual time
 * const clock = virtualClock()
 * const storage = memoryStorage()
 * const transport = bullmqTransport({ connection: {}, store: storage, backend: bullmqBackend({ storage, clock }) })
 */
export function bullmqTransport(options: BullmqTransportOptions): Transport {
  return new BullmqTransport(resolveTransportOptions(options))
}
