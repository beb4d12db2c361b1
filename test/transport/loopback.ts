/**
 * An in-memory broker for tests: the Transport seam with no BullMQ and no Redis, so the engine's
 * transport mode is tested alone, under the virtual clock. Several handles (apps, "processes")
 * share one broker and one store. Messages cross it as JSON, as they cross a real broker.
 *
 * @example
 * const broker = loopbackBroker(memoryStorage())
 * const app = new Celeriac({ transport: broker.transport(), clock })
 */
import type { Delivery, RemoteRunEvent, RunReport, Storage, Transport, TransportHost } from '../../src/index.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { TimerHandle } from '../../src/core/time/clock.js'

interface Job {
  message: string
  queue: string
  priority: number
  order: number
  state: 'waiting' | 'delayed' | 'active' | 'finished'
  owner: Consumer | undefined
  /** Delivered and left unsettled by a handle that closed. */
  stalled: boolean
  /** How many times it was delivered: the current delivery's token. */
  deliveries: number
  timer: TimerHandle | undefined
  host: TransportHost | undefined
}

interface Consumer {
  readonly handle: LoopbackTransport
  readonly queue: string
  readonly concurrency: number
  readonly deliver: (delivery: Delivery) => void
  active: number
}

export class LoopbackBroker {
  readonly store: Storage
  readonly jobs = new Map<string, Job>()
  readonly #consumers: Consumer[] = []
  #order = 0
  /** How many settles to refuse from now on (a lost lock, for the tests). */
  refuseSettles = 0
  /** How many adds to refuse from now on (the broker unreachable, for the tests). */
  refuseAdds = 0
  /** Called with each add's messages before the broker takes them (for the tests). */
  beforeAdd: ((messages: readonly TaskMessage[]) => Promise<void>) | undefined
  /** Every delivery made, in order: `[id, redelivered]`. */
  readonly deliveries: Array<[string, boolean]> = []
  /** Every ack, in order: `[id, failed]`. */
  readonly acks: Array<[string, boolean]> = []
  /** Who hears run reports (`Transport.events`): every queue, all but their own handle's runs. */
  readonly #hearers = new Set<{ readonly handle: LoopbackTransport; readonly listener: (event: RemoteRunEvent) => void }>()

  constructor(store: Storage) {
    this.store = store
  }

  transport(): LoopbackTransport {
    return new LoopbackTransport(this)
  }

  add(host: TransportHost, messages: readonly TaskMessage[]): void {
    for (const message of messages) {
      if (this.jobs.has(message.id)) continue
      const job: Job = {
        message: JSON.stringify(message),
        queue: message.queue,
        priority: message.priority,
        order: ++this.#order,
        state: 'waiting',
        owner: undefined,
        stalled: false,
        deliveries: 0,
        timer: undefined,
        host,
      }
      this.jobs.set(message.id, job)
      this.#due(job, message.eta, host)
    }
    this.#dispatch()
  }

  /** Ready at `eta` (on the host's clock), or now. */
  #due(job: Job, eta: number | null, host: TransportHost): void {
    if (eta !== null && eta > host.clock.now()) {
      job.state = 'delayed'
      job.timer = host.clock.setTimer(eta, () => {
        job.timer = undefined
        if (job.state !== 'delayed') return
        job.state = 'waiting'
        job.order = ++this.#order
        this.#dispatch()
      })
    } else job.state = 'waiting'
  }

  hear(handle: LoopbackTransport, listener: (event: RemoteRunEvent) => void): () => void {
    const hearer = { handle, listener }
    this.#hearers.add(hearer)
    return () => void this.#hearers.delete(hearer)
  }

  /** A run report of a delivery held by `from`, to everyone else, as JSON (as it crosses a broker). */
  #report(from: LoopbackTransport, message: TaskMessage, report: RunReport): void {
    const { id, task: name, queue, retries, parentId, rootId } = message
    const event = JSON.stringify({ ...report, task: { id, name, queue, retries, parentId, rootId } })
    for (const hearer of [...this.#hearers]) if (hearer.handle !== from) hearer.listener(JSON.parse(event) as RemoteRunEvent)
  }

  /** Consumer slots taken (deliveries whose run has not settled, or whose refused settle is still to come). */
  get busySlots(): number {
    let n = 0
    for (const consumer of this.#consumers) n += consumer.active
    return n
  }

  listen(consumer: Consumer): void {
    if (this.#consumers.some((c) => c.handle === consumer.handle && c.queue === consumer.queue)) return
    this.#consumers.push(consumer)
    this.#dispatch()
  }

  /**
   * Hands waiting jobs to consumers with a free slot, highest priority first, then oldest, at
   * once: in the call that made room (an add, a settle, a timer), as an idle BullMQ worker takes
   * a job the moment it is added.
   */
  #dispatch(): void {
    for (const consumer of this.#consumers) {
      while (consumer.active < consumer.concurrency) {
        let best: [string, Job] | undefined
        for (const entry of this.jobs) {
          const job = entry[1]
          if (job.state !== 'waiting' || job.queue !== consumer.queue) continue
          if (best === undefined || job.priority > best[1].priority || (job.priority === best[1].priority && job.order < best[1].order)) best = entry
        }
        if (best === undefined) break
        this.#deliver(consumer, best[0], best[1])
      }
    }
  }

  #deliver(consumer: Consumer, id: string, job: Job): void {
    job.state = 'active'
    job.owner = consumer
    // One token per delivery, as BullMQ's lock token: a delivery taken back (stall) settles nothing.
    const token = ++job.deliveries
    consumer.active++
    const redelivered = job.stalled
    job.stalled = false
    this.deliveries.push([id, redelivered])
    let settled = false
    // The consumer's slot, held until this delivery is settled or its settle refused after it was
    // taken back (as a BullMQ Worker's processor slot, freed when the processor returns).
    let slot = true
    const free = (): void => {
      if (!slot) return
      slot = false
      consumer.active--
    }
    const settle = (then: () => void): Promise<void> => {
      if (!settled && job.deliveries !== token && this.#consumers.includes(consumer)) {
        free()
        this.#dispatch()
        return Promise.reject(new Error(`loopback: lost the lock of ${id}: it was taken back`))
      }
      if (settled || job.owner !== consumer || job.deliveries !== token)
        return Promise.reject(new Error(`loopback: delivery of ${id} settled twice or after its handle closed`))
      if (this.refuseSettles > 0) {
        // As BullMQ when the lock is lost: refused; the job stays with its consumer until it is taken back.
        this.refuseSettles--
        return Promise.reject(new Error(`loopback: lost the lock of ${id}`))
      }
      settled = true
      job.owner = undefined
      free()
      then()
      this.#dispatch()
      return Promise.resolve()
    }
    const message = JSON.parse(job.message) as TaskMessage
    consumer.deliver({
      message,
      redelivered,
      ack: (failed, end) =>
        settle(() => {
          job.state = 'finished'
          this.acks.push([id, failed])
          if (end !== undefined) this.#report(consumer.handle, message, end)
        }),
      report: (report) => {
        if (settled || job.owner !== consumer || job.deliveries !== token) return Promise.reject(new Error(`loopback: report of ${id} after it was settled`))
        this.#report(consumer.handle, message, report)
        return Promise.resolve()
      },
      defer: (next, at) =>
        settle(() => {
          job.message = JSON.stringify(next)
          this.#due(job, at, job.host ?? consumer.handle.host)
        }),
      requeue: (next) =>
        settle(() => {
          job.message = JSON.stringify(next)
          job.state = 'waiting'
          job.order = ++this.#order
        }),
    })
  }

  /**
   * As BullMQ when a consumer's lock expires while its run goes on (a process starved of CPU):
   * job `id` is taken from its consumer, whose settles from now on are refused, and delivered
   * again (redelivered) to another consumer with room (`to: 'another'`, as when another process's
   * Worker finds it first) or to whichever has room, its own first (`to: 'any'`).
   */
  stall(id: string, to: 'another' | 'any' = 'another'): void {
    const job = this.jobs.get(id)
    const owner = job?.owner
    if (job?.state !== 'active' || owner === undefined) throw new Error(`loopback: ${id} is not being delivered`)
    // The owner's slot stays taken until its run settles (refused) or its handle closes.
    job.owner = undefined
    job.state = 'waiting'
    job.stalled = true
    job.order = ++this.#order
    const other = this.#consumers.find((c) => c !== owner && c.queue === job.queue && c.active < c.concurrency)
    if (to === 'another' && other !== undefined) this.#deliver(other, id, job)
    else this.#dispatch()
  }

  /** A handle closed: its consumers go, and what it held unsettled waits to be delivered again. */
  detach(handle: LoopbackTransport): void {
    for (const hearer of [...this.#hearers]) if (hearer.handle === handle) this.#hearers.delete(hearer)
    for (let i = this.#consumers.length - 1; i >= 0; i--) if (this.#consumers[i]!.handle === handle) this.#consumers.splice(i, 1)
    for (const job of this.jobs.values()) {
      if (job.state !== 'active' || job.owner?.handle !== handle) continue
      job.owner = undefined
      job.state = 'waiting'
      job.stalled = true
      job.order = ++this.#order
    }
    this.#dispatch()
  }

  remove(ids: readonly string[]): TaskMessage[] {
    const out: TaskMessage[] = []
    for (const id of ids) {
      const job = this.jobs.get(id)
      if (job === undefined || (job.state !== 'waiting' && job.state !== 'delayed')) continue
      if (job.timer !== undefined) job.host?.clock.clearTimer(job.timer)
      this.jobs.delete(id)
      out.push(JSON.parse(job.message) as TaskMessage)
    }
    return out
  }

  forget(ids: readonly string[]): void {
    for (const id of ids) if (this.jobs.get(id)?.state === 'finished') this.jobs.delete(id)
  }

  purge(queue: string | undefined): number {
    let dropped = 0
    for (const [id, job] of this.jobs) {
      if ((job.state !== 'waiting' && job.state !== 'delayed') || (queue !== undefined && job.queue !== queue)) continue
      if (job.timer !== undefined) job.host?.clock.clearTimer(job.timer)
      this.jobs.delete(id)
      dropped++
    }
    return dropped
  }
}

export class LoopbackTransport implements Transport {
  readonly name = 'loopback'
  readonly store: Storage
  readonly #broker: LoopbackBroker
  #host: TransportHost | undefined

  constructor(broker: LoopbackBroker) {
    this.#broker = broker
    this.store = broker.store
  }

  get host(): TransportHost {
    if (this.#host === undefined) throw new Error('loopback: not open')
    return this.#host
  }

  open(host: TransportHost): Promise<void> {
    this.#host = host
    return Promise.resolve()
  }

  close(): Promise<void> {
    this.#broker.detach(this)
    return Promise.resolve()
  }

  add(messages: readonly TaskMessage[]): Promise<void> {
    const broker = this.#broker
    if (broker.refuseAdds > 0) {
      broker.refuseAdds--
      return Promise.reject(new Error('loopback: the broker refused the add'))
    }
    if (broker.beforeAdd !== undefined) return broker.beforeAdd(messages).then(() => broker.add(this.host, messages))
    broker.add(this.host, messages)
    return Promise.resolve()
  }

  listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    this.#broker.listen({ handle: this, queue, concurrency, deliver, active: 0 })
    return Promise.resolve()
  }

  events(_queues: readonly string[], listener: (event: RemoteRunEvent) => void): Promise<() => Promise<void>> {
    const stop = this.#broker.hear(this, listener)
    return Promise.resolve(() => {
      stop()
      return Promise.resolve()
    })
  }

  purge(queue: string | undefined): Promise<number> {
    return Promise.resolve(this.#broker.purge(queue))
  }

  forget(ids: readonly string[]): Promise<void> {
    this.#broker.forget(ids)
    return Promise.resolve()
  }

  remove(ids: readonly string[]): Promise<TaskMessage[]> {
    return Promise.resolve(this.#broker.remove(ids))
  }
}

const brokers = new WeakMap<Storage, LoopbackBroker>()

/**
 * The broker of `store` (the results backend its transports share): one per store, so apps
 * given the same store share one broker, as processes on one Redis do.
 */
export function loopbackBroker(store: Storage): LoopbackBroker {
  let broker = brokers.get(store)
  if (broker === undefined) {
    broker = new LoopbackBroker(store)
    brokers.set(store, broker)
  }
  return broker
}
