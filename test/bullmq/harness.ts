/**
 * Per-test BullMQ instances on one backend: each test gets a fresh prefix (a fresh store), the
 * instances it makes are closed after it, then its keys are removed.
 */
import { FlowProducer, Queue, QueueEvents, QueueEventsProducer, Worker } from 'bullmq'
import type {
  FlowProducerOptions,
  IQueueBackend,
  Job,
  Processor,
  QueueEventsListener,
  QueueEventsOptions,
  QueueEventsProducerOptions,
  QueueOptions,
  WorkerOptions,
} from 'bullmq'
import { afterEach, beforeEach } from 'vitest'
import type { Backend, BackendSetup } from './backends.js'

// biome-ignore lint/suspicious/noExplicitAny: BullMQ's own default for job data and results
type AnyData = any

/** BullMQ's classes typed over any backend (their defaults name the Redis one). */
type BullQueue<D = AnyData, R = AnyData> = Queue<D, R, string, D, R, string, IQueueBackend>
export type BullWorker<D = AnyData, R = AnyData> = Worker<D, R, string, IQueueBackend>
export type BullEvents = QueueEvents<AnyData, IQueueBackend>

export interface Bull {
  /** A queue name unique to the test. */
  readonly name: string
  queue<D = AnyData, R = AnyData>(name?: string, opts?: Omit<QueueOptions, 'connection'>): BullQueue<D, R>
  worker<D = AnyData, R = AnyData>(name: string, processor: Processor<D, R> | null, opts?: Omit<WorkerOptions, 'connection'>): BullWorker<D, R>
  /**
   * A QueueEvents that reads the test's stream from its start: its first read may come after
   * the test's next step, and a read from "now" would miss what that step wrote.
   */
  events(name?: string, opts?: Omit<QueueEventsOptions, 'connection'>): Promise<BullEvents>
  flow(opts?: Omit<FlowProducerOptions, 'connection'>): FlowProducer<IQueueBackend>
  producer(name?: string, opts?: Omit<QueueEventsProducerOptions, 'connection'>): QueueEventsProducer<IQueueBackend>
  /** Errors the workers emitted (a worker's `error` event), in order. */
  readonly workerErrors: Error[]
}

interface Closable {
  close(): Promise<void>
}

let names = 0

/** Registers the hooks that give each test of the enclosing describe a fresh `Bull`. */
export function useBull(backend: Backend): Bull {
  let setup: BackendSetup | undefined
  let closables: Closable[] = []
  let name = ''
  const workerErrors: Error[] = []

  beforeEach(async (ctx) => {
    if (backend.unavailable !== undefined) ctx.skip(backend.unavailable)
    setup = await backend.open()
    name = `q${String(++names)}`
    workerErrors.length = 0
  })

  afterEach(async () => {
    const open = closables.reverse()
    closables = []
    // Workers first, so nothing is mid-job when the queues go.
    for (const c of open) if (c instanceof Worker) await c.close(true)
    for (const c of open) if (!(c instanceof Worker)) await c.close()
    await setup?.cleanup()
    setup = undefined
  })

  const use = (): BackendSetup => {
    if (setup === undefined) throw new Error('useBull: used outside a test')
    return setup
  }
  const track = <T extends Closable>(c: T): T => {
    closables.push(c)
    return c
  }

  return {
    get name() {
      return name
    },
    workerErrors,
    queue<D, R>(queueName = name, opts = {}) {
      const s = use()
      return track(new Queue<D, R, string, D, R, string, IQueueBackend>(queueName, { connection: s.connection, prefix: s.prefix, ...opts }, s.factory))
    },
    worker<D, R>(queueName: string, processor: Processor<D, R> | null, opts = {}) {
      const s = use()
      const worker = new Worker<D, R, string, IQueueBackend>(queueName, processor, { connection: s.connection, prefix: s.prefix, ...opts }, s.factory)
      worker.on('error', (e) => workerErrors.push(e))
      return track(worker)
    },
    async events(queueName = name, opts = {}) {
      const s = use()
      const events = track(new QueueEvents(queueName, { connection: s.connection, prefix: s.prefix, lastEventId: '0', ...opts }, s.factory))
      await events.waitUntilReady()
      return events
    },
    flow(opts = {}) {
      const s = use()
      return track(new FlowProducer({ connection: s.connection, prefix: s.prefix, ...opts }, s.factory))
    },
    producer(queueName = name, opts = {}) {
      const s = use()
      return track(new QueueEventsProducer(queueName, { connection: s.connection, prefix: s.prefix, ...opts }, s.factory))
    },
  }
}

/** Resolves with the first `event` of `target` whose arguments pass `match`. */
export function once<E extends keyof QueueEventsListener>(
  target: BullEvents,
  event: E,
  match: (...args: Parameters<QueueEventsListener[E]>) => boolean = () => true,
): Promise<Parameters<QueueEventsListener[E]>> {
  return new Promise((resolve) => {
    const listener = ((...args: Parameters<QueueEventsListener[E]>) => {
      if (!match(...args)) return
      target.off(event, listener)
      resolve(args)
    }) as QueueEventsListener[E]
    target.on(event, listener)
  })
}

/** Resolves when `worker` has finished (completed or failed) `n` jobs, with them in order. */
export function finished<D, R>(worker: BullWorker<D, R>, n: number): Promise<Job<D, R>[]> {
  const jobs: Job<D, R>[] = []
  return new Promise((resolve) => {
    const on = (job: Job<D, R> | undefined): void => {
      if (job === undefined) return
      jobs.push(job)
      if (jobs.length === n) {
        worker.off('completed', on)
        worker.off('failed', on)
        resolve(jobs)
      }
    }
    worker.on('completed', on)
    worker.on('failed', on)
  })
}

/** Polls `check` every 10 ms until it returns true; throws after `timeout` ms. */
export async function until(check: () => Promise<boolean> | boolean, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`until: not true after ${String(timeout)} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
