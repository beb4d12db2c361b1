/**
 * The conformance suite on real Redis: `bullmqTransport` over the local Redis, under the
 * harness's virtual clock. BullMQ on Redis keeps its own (real) time, so the virtual clock cannot
 * see it on its own: this watch joins each app's clock as one more participant, and tells it
 * when the broker is settled, as the engine does for itself.
 *
 * The broker is settled when, in every queue of the prefix, each active job is one a handle has
 * delivered to its engine and not settled yet, and no job is ready while a consumer of its queue
 * has room for it. A countdown (a delayed job) is promoted, as BullMQ would do at its time, once
 * the virtual clock reaches its eta, and a timer at that eta keeps `advance` and `runAll` from
 * moving past it, so it runs at the virtual instant it would run on any other combination.
 * BullMQ's locks, stall checks and (for short delays) its own delays still run in real time: a
 * delivery that comes before its eta is held by the engine to the eta, as on Redis in production.
 */
import { Queue } from 'bullmq'
import type { Delivery, RunReport, Storage, Transport, TransportHost } from '../../src/index.js'
import { bullmqTransport, redisStore } from '../../src/bullmq/index.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { TimerHandle } from '../../src/core/time/clock.js'
import type { VirtualClock } from '../../src/testing.js'
import { REDIS, deleteKeys } from '../bullmq/backends.js'

/** How long the broker may stay busy before a settle gives up (a job that never comes back). */
const SETTLE_LIMIT_MS = 30_000
/** Real-time locks, short so that a job a stopped app held comes back within a scenario. */
const LOCK_DURATION = 5_000
const STALLED_INTERVAL = 1_000

interface Tally {
  /** Delivered to an engine by an open handle and not settled. */
  held: number
  /** How many the open handles listening on it may hold at once. */
  capacity: number
  readonly admin: Queue
}

/** One prefix's broker, seen from the test process (every app given the same store shares it). */
class BrokerWatch {
  readonly prefix: string
  readonly #queues = new Map<string, Tally>()
  /** Grows at every change this process makes or hears of (an add, a delivery, a settle). */
  #version = 0
  /** The version at which the broker was last found settled. */
  #settledAt = -1
  /** Virtual timers at the etas of delayed jobs (job id -> eta and timer), on the first clock. */
  readonly #due = new Map<string, { at: number; timer: TimerHandle }>()
  #clock: VirtualClock | undefined
  /** The engines on this broker, woken when it settles. */
  readonly #hosts = new Set<TransportHost>()
  /** The settle in progress, which every caller shares. */
  #settling: Promise<void> | undefined
  /** Why the last settle gave up: thrown by the clock's next wait, so the scenario fails saying so. */
  #failure: Error | undefined
  readonly #detach: (() => void)[] = []
  #closed = false

  constructor(prefix: string) {
    this.prefix = prefix
  }

  /** Joins `clock`: its `advance` and `runAll` wait for this broker as for an engine. */
  join(clock: VirtualClock): void {
    this.#clock ??= clock
    const detach = clock.attach?.({
      isQuiet: () => this.#quiet(),
      whenQuiet: async () => {
        await this.#settle()
        if (this.#failure !== undefined) throw this.#failure
      },
    })
    if (detach !== undefined) this.#detach.push(detach)
  }

  /**
   * Whether the broker is settled as of the last change; if not, starts settling it and wakes
   * the engines once it is (an engine's `whenIdle` and quiet wait for their transport).
   */
  #quiet(): boolean {
    if (this.#closed || this.#settledAt === this.#version) return true
    void this.#settle().then(() => {
      for (const host of this.#hosts) host.wake()
    })
    return false
  }

  /** `transport` with every add, delivery and settle counted. */
  observe(transport: Transport): Transport {
    const queues: { tally: Tally; concurrency: number; held: number }[] = []
    let closed = false
    let opened: TransportHost | undefined
    const changed = (): void => void this.#version++
    const after = <T>(p: Promise<T>): Promise<T> => p.finally(changed)
    return {
      name: transport.name,
      store: transport.store,
      open: (host: TransportHost) => {
        opened = host
        this.#hosts.add(host)
        return transport.open(host)
      },
      isQuiet: () => transport.isQuiet?.() !== false && this.#quiet(),
      close: async () => {
        // What it held and did not settle stays active in Redis until its lock expires and
        // another consumer takes it back (stalled): the broker is busy until then.
        closed = true
        if (opened !== undefined) this.#hosts.delete(opened)
        for (const q of queues) {
          q.tally.held -= q.held
          q.tally.capacity -= q.concurrency
        }
        changed()
        await after(transport.close())
      },
      add: (messages: readonly TaskMessage[]) => {
        for (const m of messages) this.#tally(m.queue)
        changed()
        return after(transport.add(messages))
      },
      listen: (queue: string, concurrency: number, deliver: (delivery: Delivery) => void) => {
        const tally = this.#tally(queue)
        const mine = { tally, concurrency, held: 0 }
        queues.push(mine)
        tally.capacity += concurrency
        changed()
        return transport.listen(queue, concurrency, (delivery) => {
          changed()
          if (closed) return deliver(delivery)
          tally.held++
          mine.held++
          let settled = false
          const settle = <T>(p: () => Promise<T>): Promise<T> => {
            if (!settled && !closed) {
              settled = true
              tally.held--
              mine.held--
            }
            changed()
            return after(p())
          }
          const { report } = delivery
          deliver({
            message: delivery.message,
            redelivered: delivery.redelivered,
            ack: (failed, end) => settle(() => delivery.ack(failed, end)),
            ...(report === undefined ? {} : { report: (r: RunReport) => after(report.call(delivery, r)) }),
            defer: (next, at) => settle(() => delivery.defer(next, at)),
            requeue: (next) => settle(() => delivery.requeue(next)),
          })
        })
      },
      remove: (ids: readonly string[]) => after(transport.remove(ids)),
      forget: (ids: readonly string[]) => after(transport.forget(ids)),
      purge: (queue: string | undefined) => after(transport.purge(queue)),
      ...(transport.events === undefined ? {} : { events: transport.events.bind(transport) }),
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const detach of this.#detach.splice(0)) detach()
    for (const { timer } of this.#due.values()) this.#clock?.clearTimer(timer)
    this.#due.clear()
    await Promise.allSettled([...this.#queues.values()].map((q) => q.admin.close()))
  }

  #tally(queue: string): Tally {
    let tally = this.#queues.get(queue)
    if (tally === undefined) {
      tally = { held: 0, capacity: 0, admin: new Queue(queue, { connection: { ...REDIS }, prefix: this.prefix }) }
      this.#queues.set(queue, tally)
    }
    return tally
  }

  /** Resolves once the broker is settled (see the header), promoting delayed jobs that are due. */
  #settle(): Promise<void> {
    this.#settling ??= this.#poll().finally(() => (this.#settling = undefined))
    return this.#settling
  }

  async #poll(): Promise<void> {
    const deadline = Date.now() + SETTLE_LIMIT_MS
    while (!this.#closed) {
      const version = this.#version
      const busy = await this.#busy()
      if (busy === '' && version === this.#version) {
        this.#settledAt = version
        return
      }
      if (Date.now() > deadline) {
        // Given up: let the engines go on, and fail the scenario at the clock's next wait.
        this.#failure = new Error(`The Redis broker did not settle in ${String(SETTLE_LIMIT_MS)} ms: ${busy}`)
        this.#settledAt = this.#version
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }

  /** Why the broker is not settled ('' when it is). */
  async #busy(): Promise<string> {
    const clock = this.#clock
    const seen = new Set<string>()
    let busy = ''
    for (const [name, tally] of this.#queues) {
      const counts = await tally.admin.getJobCounts('wait', 'prioritized', 'active', 'delayed')
      const ready = (counts.wait ?? 0) + (counts.prioritized ?? 0)
      if ((counts.active ?? 0) !== tally.held) busy ||= `${name}: ${String(counts.active)} active, ${String(tally.held)} delivered`
      else if (ready > 0 && tally.held < tally.capacity) busy ||= `${name}: ${String(ready)} ready, room for ${String(tally.capacity - tally.held)}`
      if ((counts.delayed ?? 0) === 0 || clock === undefined) continue
      for (const job of await tally.admin.getDelayed()) {
        const id = job.id
        const data = job.data as { message?: TaskMessage; due?: number } | undefined
        const eta = data?.due ?? data?.message?.eta
        if (id === undefined || typeof eta !== 'number') continue
        seen.add(id)
        if (eta <= clock.now()) {
          // Due on the virtual clock: BullMQ would have made it ready at this time.
          busy ||= `${name}: delayed job ${id} due`
          await job.promote().catch(() => undefined)
          continue
        }
        const known = this.#due.get(id)
        if (known?.at === eta) continue
        if (known !== undefined) clock.clearTimer(known.timer)
        this.#due.set(id, { at: eta, timer: clock.setTimer(eta, () => void this.#version++) })
      }
    }
    for (const [id, { timer }] of this.#due) {
      if (seen.has(id)) continue
      clock?.clearTimer(timer)
      this.#due.delete(id)
    }
    return busy
  }
}

const watches = new WeakMap<Storage, BrokerWatch>()
const made: BrokerWatch[] = []
/**
 * Every prefix of this test process starts with RUN, so one SCAN deletes them all after a
 * combination's scenarios (one SCAN per scenario's prefix took seconds on a busy Redis).
 */
const RUN = `celeriac-conformance-${String(process.pid)}-${Math.random().toString(36).slice(2, 8)}`
let prefixes = 0
const nextPrefix = (): string => `${RUN}-${String(++prefixes)}`

/** A redisStore on a fresh prefix of the local Redis (its keys are deleted by closeRedisWatches). */
export function redisClusterStore(): Storage {
  const prefix = nextPrefix()
  return redisStore({ connection: { ...REDIS }, prefix })
}

/**
 * A bullmqTransport on the local Redis, on a fresh prefix per store (apps given the same store
 * share its queues, as processes on one Redis), watched on `clock`.
 */
export function redisTransport(store: Storage, clock: VirtualClock): Transport {
  let watch = watches.get(store)
  if (watch === undefined) {
    watch = new BrokerWatch(nextPrefix())
    watches.set(store, watch)
    made.push(watch)
  }
  watch.join(clock)
  return watch.observe(
    bullmqTransport({ connection: { ...REDIS }, prefix: watch.prefix, store, lockDuration: LOCK_DURATION, stalledInterval: STALLED_INTERVAL }),
  )
}

/** Closes every watch made so far and deletes their keys (after their apps have stopped). */
export async function closeRedisWatches(): Promise<void> {
  // Only after a Redis combination (the cleanup runs after every one; Redis may be down).
  if (prefixes === 0) return
  await Promise.allSettled(made.splice(0).map((w) => w.close()))
  await deleteKeys(RUN, '-*')
}
