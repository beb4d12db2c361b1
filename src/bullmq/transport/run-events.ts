/**
 * Other handles' run reports, heard through BullMQ's QueueEvents: one reader per queue and
 * subscriber, for the queues a subscriber names and for each queue its transport comes to use.
 */
import { type IQueueBackend, QueueEvents } from 'bullmq'
import type { RemoteRunEvent } from '../../core/engine/transport.js'
import type { ResolvedTransportOptions } from './options.js'
import { fromFailedReason, remoteEvent } from './run-reports.js'

type Reader = QueueEvents<unknown, IQueueBackend>

/** One `events()` call: its listener and a QueueEvents per queue. */
interface Subscriber {
  readonly listener: (event: RemoteRunEvent) => void
  readonly readers: Map<string, Reader>
}

/**
 * How far back (ms) a QueueEvents opened now starts reading its queue's stream: BullMQ's '$'
 * (from its first read on) would miss what happens between the open and that read; a stream id
 * is Redis's time, so a little before our now covers a clock a little apart.
 */
const EVENTS_LOOKBACK = 1_000

export class RunEventReaders {
  readonly #options: Pick<ResolvedTransportOptions, 'connection' | 'prefix' | 'backend'>
  /** The transport handle that owns these readers: its own reports are not heard back. */
  readonly #self: string
  readonly #subscribers = new Set<Subscriber>()

  constructor(options: Pick<ResolvedTransportOptions, 'connection' | 'prefix' | 'backend'>, self: string) {
    this.#options = options
    this.#self = self
  }

  /**
   * Reads `queues` for `listener` until the returned function is called. QueueEvents reads the
   * queue's event stream from where it was (XREAD from the last id), so each event comes once, in
   * the stream's order; one trimmed from the stream before it was read (BullMQ keeps about
   * 10,000 per queue) is lost.
   */
  async subscribe(queues: Iterable<string>, listener: (event: RemoteRunEvent) => void): Promise<() => Promise<void>> {
    const sub: Subscriber = { listener, readers: new Map() }
    this.#subscribers.add(sub)
    await Promise.all([...new Set(queues)].map((queue) => this.#read(sub, queue)))
    return () => this.#unsubscribe(sub)
  }

  /** A queue the transport uses for the first time: every subscriber hears it too. */
  addQueue(queue: string): void {
    for (const sub of this.#subscribers) {
      // Not awaited: it reads from a little before now, so it misses nothing of the add that named it.
      this.#read(sub, queue).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#subscribers].map((sub) => this.#unsubscribe(sub)))
  }

  async #read(sub: Subscriber, queue: string): Promise<void> {
    if (sub.readers.has(queue)) return
    const reader: Reader = new QueueEvents<unknown, IQueueBackend>(
      queue,
      { connection: this.#options.connection, prefix: this.#options.prefix, lastEventId: `${String(Date.now() - EVENTS_LOOKBACK)}-0` },
      this.#options.backend,
    )
    sub.readers.set(queue, reader)
    const hear = (jobId: string, value: unknown): void => {
      const event = remoteEvent(queue, jobId, value, this.#self)
      if (event !== undefined && this.#subscribers.has(sub)) sub.listener(event)
    }
    // A connection error it recovers from itself (it reads on from its last id).
    reader.on('error', () => undefined)
    reader.on('progress', ({ jobId, data }) => hear(jobId, data))
    reader.on('completed', ({ jobId, returnvalue }) => hear(jobId, returnvalue))
    reader.on('failed', ({ jobId, failedReason }) => hear(jobId, fromFailedReason(failedReason)))
    await reader.waitUntilReady()
  }

  async #unsubscribe(sub: Subscriber): Promise<void> {
    if (!this.#subscribers.delete(sub)) return
    await Promise.allSettled([...sub.readers.values()].map((reader) => reader.close()))
  }
}
