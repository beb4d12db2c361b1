/**
 * The engine's storage when the app runs on a transport: the transport's store, with the
 * `messages` namespace's writes turned into broker calls. The engine writes as it does on any
 * storage (a send puts its messages, a run's outcome deletes its message in the write that stores
 * its result, a retry puts the message again with its eta); here each write is applied in this
 * order:
 *
 * 1. the whole write goes to the store, messages included: the store keeps each message it sends
 *    until the broker holds it (an outbox; the next write deletes the entries of those it does),
 *    so a crash after this step loses no follow-up (the outbox is sent again, see
 *    {@link TransportStorage.resend});
 * 2. the messages it puts that are not deliveries of this process are added to the broker
 *    (idempotent by id, so sending one twice runs it once);
 * 3. the deliveries it ends are settled: acked (the message deleted), deferred (put again with
 *    more retries: a retry) or requeued (put again: a rejected message requeued).
 *
 * A delivery is acked only after its outcome and its follow-ups are stored and sent: a process
 * that dies before leaves it to the broker to deliver again.
 *
 * It also tells the broker what other processes' `app.events` hear of the runs held here
 * (`Delivery.report`, the `end` of an ack; when, in run-reports.ts).
 * A root send (from outside any task, see {@link TransportStorage.direct}) skips step 1: its
 * message goes to the broker only. Its caller's promise resolves once the broker holds it, so a
 * crash before is a send the caller never saw acknowledged, as Celery's `apply_async` publishes
 * directly; what a running task sends (chain steps, chord bodies, callbacks, children) keeps its
 * outbox entry, since a crash between its result write and the broker would lose it.
 */
import type { ResultRecord, TaskMessage } from '../model/message.js'
import type { Delivery, RunReport, Transport, TransportHost } from './transport.js'
import { RunReports } from './run-reports.js'
import { HeldDeliveries } from './held-deliveries.js'
import { FAILURE, PENDING, READY_STATES, RETRY, REVOKED, STARTED } from '../model/states.js'
import type { Mutation, Namespace, Storage, StorageChange, StorageKey, StoredValue, TransactStep, WriteOptions } from '../../storage/types.js'

/** What one write asks of the broker, once its store part is committed. */
interface BrokerPart {
  readonly adds: TaskMessage[]
  /** The ids among `adds` that have an outbox entry (root sends have none). */
  readonly outboxed: string[]
  /** Run reports, sent before the settles (a run's progress and start come before its end). */
  readonly reports: Array<() => Promise<void>>
  readonly settles: Array<() => Promise<void>>
}

const NOTHING: BrokerPart = { adds: [], outboxed: [], reports: [], settles: [] }

/** The deliveries a write puts back (retry, requeue), and those of them it must not (ended elsewhere). */
interface PutBack {
  readonly ids: Set<string>
  readonly dropped: Set<string>
}

export class TransportStorage implements Storage {
  readonly name: string
  readonly capabilities: Storage['capabilities']
  readonly transport: Transport
  readonly #store: Storage
  /** Deliveries of this process not yet settled. */
  readonly #held = new HeldDeliveries()
  #clock: TransportHost['clock'] | undefined
  #log: (text: string) => void = () => undefined
  /** Ids the broker acknowledged holding, whose outbox entries the next write deletes. */
  #sent: string[] = []
  /** Message puts of root sends: to the broker only, never to the store (see {@link direct}). */
  readonly #direct = new WeakSet<Mutation>()
  /** A resend under way, and whether another was asked for meanwhile (see resend). */
  #resending: Promise<number> | undefined
  #resendAgain = false
  /** What runs held here tell the broker for other processes' events. */
  readonly #reports = new RunReports()

  constructor(transport: Transport) {
    this.transport = transport
    this.#store = transport.store
    this.name = `${transport.name} (store: ${transport.store.name})`
    // Shared: the broker and the store are read by other processes, so leases and STARTED
    // records are written (DESIGN §4), as on any shared storage.
    this.capabilities = { durable: transport.store.capabilities.durable, shared: true }
  }

  open(): Promise<void> {
    return this.#store.open()
  }

  /** Opens the broker once the store is open (the engine's start); `log` hears of settles that failed. */
  openTransport(host: TransportHost, log: (text: string) => void): Promise<void> {
    this.#clock = host.clock
    this.#log = log
    return this.transport.open(host)
  }

  close(): Promise<void> {
    return this.#store.close()
  }

  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    return this.#store.get(ns, key)
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    return this.#store.entries(ns)
  }

  async write(mutations: readonly Mutation[], options?: WriteOptions): Promise<void> {
    const part = this.#split(mutations)
    let stored = part.skip === undefined ? mutations : mutations.filter((m) => !part.skip!.has(m))
    if (this.#sent.length > 0) {
      // The outbox entries of messages the broker holds go, ahead of this write's own (a put of
      // the same id in it comes after, and stays).
      const drop: Mutation[] = this.#sent.splice(0).map((key) => ({ op: 'delete', ns: 'messages', key }))
      stored = [...drop, ...stored]
    }
    // A store whose results cannot take part in a transact (Celery's backend) is written as it is.
    if (part.putBack === undefined || this.#store.capabilities.transactsResults === false) {
      if (stored.length > 0) await this.#store.write(stored, options)
    } else await this.#writeUnlessEnded(stored, part.putBack)
    await this.#toBroker(part)
  }

  /**
   * Writes `mutations`, which put back (retry, requeue) the deliveries in `putBack`, unless one
   * of them already has a final result: the broker took that run back while it went on (its lock
   * expired: a starved process) and another process ended it (an early-ack run failed as lost).
   * That run's retry is then dropped, result, message and settle alike: a RETRY over the stored
   * failure would leave the task unfinished for good. Atomic with the check (the store's
   * transact); only writes that put a delivery back pay for it.
   */
  async #writeUnlessEnded(mutations: readonly Mutation[], putBack: PutBack): Promise<void> {
    const ids = [...putBack.ids]
    const ended = await this.#store.transact(
      ids.map((key) => ({ ns: 'results' as const, key })),
      (values) => {
        const over = new Set<string>()
        const now = this.#now()
        for (let i = 0; i < ids.length; i++) {
          const record = values[i] as ResultRecord | undefined
          // An expired result is gone for the engine (Results.read): it does not hold a retry back.
          if (record === undefined || (record.expiresAt !== null && record.expiresAt <= now)) continue
          if (READY_STATES.has(record.state)) over.add(ids[i]!)
        }
        const keep = over.size === 0 ? mutations : mutations.filter((m) => !((m.ns === 'results' || m.ns === 'messages') && over.has(m.key)))
        return { mutations: keep, result: over }
      },
    )
    for (const id of ended) {
      putBack.dropped.add(id)
      this.#log(`celeriac: the run of ${id} was taken back by the broker and ended elsewhere meanwhile; its retry here is dropped`)
    }
  }

  async transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    let last: readonly Mutation[] = []
    const result = await this.#store.transact(keys, (values) => {
      const out = step(values)
      last = out.mutations
      return out
    })
    await this.#toBroker(this.#split(last))
    return result
  }

  watch(listener: (changes: readonly StorageChange[]) => void): () => void {
    // Messages reach consumers through the broker, not through the store's outbox.
    return (
      this.#store.watch?.((changes) => {
        const some = changes.filter((c) => c.ns !== 'messages')
        if (some.length > 0) listener(some)
      }) ?? (() => undefined)
    )
  }

  /**
   * Marks the message puts of a root send (`mutations` from index `from` on): the next write
   * gives them to the broker only, with no outbox entry. A send from outside any task resolves
   * its promise once the broker holds its messages, so the outbox (a crash between the store
   * and the broker) protects nothing its caller was told; it is half of what a send costs.
   */
  direct(mutations: readonly Mutation[], from: number): void {
    for (let i = from; i < mutations.length; i++) this.#direct.add(mutations[i]!)
  }

  /** Until when (wall time, ms) runs held here report their start, retry and end (RunReports). */
  reportRunsUntil(wallTime: number): void {
    this.#reports.until(wallTime)
  }

  /** Takes a delivery in, held until a write ends it; `replacing` the one of its id the broker took back (HeldDeliveries.add). */
  hold(delivery: Delivery, replacing = false): void {
    this.#held.add(delivery, replacing)
  }

  /** Whether a delivery of `id` is held here (not yet settled). */
  holds(id: string): boolean {
    return this.#held.has(id)
  }

  /**
   * Gives held deliveries that never started back to the broker, unchanged: ready now (a warm
   * shutdown) or due at `at` (a rate limit's next token).
   */
  async giveBack(ids: readonly string[], at?: number): Promise<void> {
    const back: Array<Promise<void>> = []
    for (const id of ids) {
      const delivery = this.#held.takeNewest(id)
      if (delivery === undefined) continue
      const settle = at === undefined ? delivery.requeue(delivery.message) : delivery.defer(delivery.message, at)
      back.push(
        settle.catch((error: unknown) => this.#log(`celeriac: could not give a delivery back to the broker (${String(error)}); it will be delivered again`)),
      )
    }
    await Promise.all(back)
  }

  /**
   * Sends again every message of the outbox that has no result record: after a crash between a
   * write and its broker part, the messages it put reach the broker (those there already are
   * skipped by id). One with a record has started somewhere, or finished.
   */
  resend(): Promise<number> {
    // A crash redelivers many messages at once: one resend at a time, and one more after it for
    // all that asked meanwhile.
    if (this.#resending !== undefined) {
      this.#resendAgain = true
      return this.#resending
    }
    const run = async (): Promise<number> => {
      let total = 0
      do {
        this.#resendAgain = false
        total += await this.#resendOnce()
      } while (this.#resendAgain)
      return total
    }
    this.#resending = run().finally(() => (this.#resending = undefined))
    return this.#resending
  }

  async #resendOnce(): Promise<number> {
    const outbox = await this.#store.entries('messages')
    const again: TaskMessage[] = []
    for (const [id, value] of outbox) {
      if (this.#held.has(id)) continue
      if ((await this.#store.get('results', id)) === undefined) again.push(value as TaskMessage)
    }
    if (again.length > 0) await this.transport.add(again)
    return again.length
  }

  /**
   * Drops the messages waiting in the broker (of `queue`, or all) and their outbox entries;
   * resolves with how many the broker dropped.
   */
  async purge(queue: string | undefined): Promise<number> {
    const dropped = await this.transport.purge(queue)
    const deletes: Mutation[] = []
    for (const [id, value] of await this.#store.entries('messages')) {
      if (this.#held.has(id) || (queue !== undefined && (value as TaskMessage).queue !== queue)) continue
      if ((await this.#store.get('results', id)) === undefined) deletes.push({ op: 'delete', ns: 'messages', key: id })
    }
    if (deletes.length > 0) await this.#store.write(deletes)
    return dropped
  }

  /** The broker part of a write, and the mutations the store part leaves out (`skip`: leases, root sends). */
  #split(mutations: readonly Mutation[]): BrokerPart & { skip?: Set<Mutation>; putBack?: PutBack } {
    let adds: TaskMessage[] | undefined
    let outboxed: string[] | undefined
    let settles: Array<() => Promise<void>> | undefined
    let reports: Array<() => Promise<void>> | undefined
    let skip: Set<Mutation> | undefined
    let putBack: PutBack | undefined
    let removes: string[] | undefined
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!
      if (m.ns !== 'messages') {
        if (m.ns === 'results' && m.op === 'put') {
          // A custom state (progress) of a run held here: the broker's tools show it, and other
          // processes' events hear it. Only a run that reports progress pays for the call.
          const record = m.value as ResultRecord
          if (isProgress(record.state)) {
            const delivery = this.#held.oldest(m.key)
            if (delivery?.report !== undefined) {
              const report: RunReport = { type: 'progress', at: this.#now(), state: record.state, meta: record.result }
              ;(reports ??= []).push(() => delivery.report!(report))
            }
          }
        }
        continue
      }
      const delivery = this.#held.oldest(m.key)
      if (m.op === 'put') {
        const message = m.value as TaskMessage
        if (delivery === undefined) {
          ;(adds ??= []).push(message)
          if (this.#direct.has(m)) (skip ??= new Set()).add(m)
          else (outboxed ??= []).push(message.id)
        } else if (message.leased) {
          // A run starting: the broker's claim is its lease.
          ;(skip ??= new Set()).add(m)
          if (delivery.report !== undefined && this.#reports.on()) {
            const report = this.#reports.started(m.key, this.#now())
            ;(reports ??= []).push(() => delivery.report!(report))
          }
        } else {
          this.#held.settle(m.key)
          const retry = message.retries !== delivery.message.retries
          const at = message.eta ?? this.#clock?.now() ?? 0
          const back = (putBack ??= { ids: new Set(), dropped: new Set() })
          back.ids.add(m.key)
          const id = m.key
          // A put back that the write dropped (ended elsewhere) still settles its delivery: an
          // ack, which the broker refuses if the lock is lost (the consumer's slot is freed
          // either way) and otherwise finishes a job whose task has a final result.
          if (!retry) {
            this.#reports.forget(m.key)
            ;(settles ??= []).push(() => (back.dropped.has(id) ? delivery.ack(false) : delivery.requeue(message)))
          } else {
            const report = this.#retried(delivery, mutations, m.key, at)
            const defer = report === undefined ? () => delivery.defer(message, at) : () => this.#deferReported(delivery, report, message, at)
            ;(settles ??= []).push(() => (back.dropped.has(id) ? delivery.ack(false) : defer()))
          }
        }
      } else if (delivery !== undefined) {
        this.#held.settle(m.key)
        const record = recordIn(mutations, m.key)
        const failed = record !== undefined && (record.state === FAILURE || record.state === REVOKED)
        const end = record !== undefined && this.#reports.on() ? this.#reports.end(m.key, record, this.#now()) : undefined
        ;(settles ??= []).push(() => delivery.ack(failed, end))
      } else if (endedInFailure(mutations, m.key)) {
        // Ended before it was delivered (revoked on receipt): out of the broker.
        ;(removes ??= []).push(m.key)
      }
    }
    if (removes !== undefined) {
      const ids = removes
      ;(settles ??= []).push(() => this.transport.remove(ids).then(() => undefined))
    }
    if (adds === undefined && settles === undefined && reports === undefined && skip === undefined) return NOTHING
    return { adds: adds ?? [], outboxed: outboxed ?? [], reports: reports ?? [], settles: settles ?? [], skip, putBack }
  }

  #now(): number {
    return this.#clock?.now() ?? 0
  }

  /** The retry report of a delivery deferred, while reporting and the broker takes reports. */
  #retried(delivery: Delivery, mutations: readonly Mutation[], id: string, eta: number): RunReport | undefined {
    if (delivery.report === undefined || !this.#reports.on()) {
      this.#reports.forget(id)
      return undefined
    }
    return this.#reports.retried(id, recordIn(mutations, id), this.#now(), eta)
  }

  /** The report first (a report the broker refuses is only logged), then the retry's defer. */
  async #deferReported(delivery: Delivery, report: RunReport, next: TaskMessage, at: number): Promise<void> {
    await delivery.report!(report).catch((error: unknown) => this.#log(`celeriac: the broker refused a run's report (${String(error)})`))
    await delivery.defer(next, at)
  }

  /**
   * The broker part of a write whose store part is committed. An add that fails fails the write
   * (the engine writes again, and the outbox keeps the messages meanwhile). A settle that fails
   * does not: what the run left is stored, and the broker delivers the message again (its lock
   * was lost: another process may have it already), where the stored result or lease decides.
   */
  async #toBroker(part: BrokerPart): Promise<void> {
    if (part.adds.length > 0) {
      await this.transport.add(part.adds)
      for (const id of part.outboxed) this.#sent.push(id)
    }
    if (part.reports.length > 0) {
      const refused = (error: unknown): void => this.#log(`celeriac: the broker refused a run's report (${String(error)})`)
      await Promise.all(part.reports.map((report) => report().catch(refused)))
    }
    if (part.settles.length === 0) return
    const failed = (error: unknown): void => this.#log(`celeriac: the broker refused to settle a delivery (${String(error)}); it will be delivered again`)
    await Promise.all(part.settles.map((settle) => settle().catch(failed)))
  }
}

/** The result record `mutations` store for `id` (the last put: a batch may hold its progress before its outcome), if any. */
function recordIn(mutations: readonly Mutation[], id: string): ResultRecord | undefined {
  for (let i = mutations.length - 1; i >= 0; i--) {
    const m = mutations[i]!
    if (m.op === 'put' && m.ns === 'results' && m.key === id) return m.value as ResultRecord
  }
  return undefined
}

/** Whether `mutations` store a failed or revoked result for `id` (the broker keeps it as failed). */
function endedInFailure(mutations: readonly Mutation[], id: string): boolean {
  const state = recordIn(mutations, id)?.state
  return state === FAILURE || state === REVOKED
}

/** A custom state a run stored on its way (`self.updateState`): not one the engine stores itself. */
function isProgress(state: string): boolean {
  return state !== STARTED && state !== PENDING && state !== RETRY && !READY_STATES.has(state as ResultRecord['state'])
}
