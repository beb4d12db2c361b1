/**
 * The broker half of `celeryTransport`: celeriac's messages as Celery protocol v2 messages in
 * kombu's Redis queues (LPUSH to the list of the message's priority step, the queue declared in
 * `_kombu.binding.<queue>`), where Python Celery workers take them; and, for the queues named in
 * its `queues` option, a consumer with kombu's ack emulation (consumer.ts).
 */
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import { StorageError } from '../core/model/errors.js'
import type { ChordRecord } from '../core/model/context.js'
import type { ResultRecord, TaskMessage } from '../core/model/message.js'
import type { Delivery, Transport, TransportHost } from '../core/engine/transport.js'
import { binding, chordBodyOf, chordSizeKey, type Envelope, queueKey, queueKeys, toEnvelope } from './envelope.js'
import { CeleryConsumer } from './consumer.js'
import { CeleryMailbox, celeriacNodeName } from './mailbox.js'
import { fromEnvelope } from './from-envelope.js'
import type { ResolvedCeleryOptions } from './options.js'
import { CeleryResultStore } from './result-store.js'

/**
 * LPUSH a message unless its id was sent already (kept for `resultExpires`), and declare its
 * queue as kombu does. Celery's Redis queues have no ids; the marker makes `add` idempotent, as
 * the Transport contract asks (an outbox sent again after a crash runs each task once).
 * KEYS: sent marker, list, binding set. ARGV: envelope, binding member, marker TTL in ms.
 */
const SEND = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[2])
  return 1
end
return 0
`

interface WithSend {
  celeriacSend(marker: string, list: string, bindingKey: string, envelope: string, member: string, ttl: number): Promise<number>
}

export class CeleryTransport implements Transport {
  readonly name = 'celery'
  /** Celery's default queue, where Python workers wait. */
  readonly defaultQueue = 'celery'
  readonly foreignWorkers = true
  /** Celery's scheduler is beat: each process here would fire a celeriac schedule. */
  readonly noSchedules =
    "Periodic tasks do not run on celeryTransport (each process would fire them): use Celery beat, Celery's scheduler (Python: `celery -A proj beat` with app.conf.beat_schedule), which sends to these queues for Python or celeriac workers to run"
  readonly store: CeleryResultStore
  readonly #options: ResolvedCeleryOptions
  readonly #origin = `${String(process.pid)}@${hostname()}`
  /** The queues this handle sent to: where `remove` and `purge(undefined)` look. */
  readonly #queues = new Set<string>()
  #host: TransportHost | undefined
  #consumer: CeleryConsumer | undefined
  /** Python's remote control (revoke), heard once this handle consumes. */
  #mailbox: CeleryMailbox | undefined

  constructor(options: ResolvedCeleryOptions) {
    this.#options = options
    this.store = new CeleryResultStore(options)
  }

  open(host: TransportHost): Promise<void> {
    this.#host = host
    this.store.client().defineCommand('celeriacSend', { numberOfKeys: 3, lua: SEND })
    const consumerHost = {
      client: () => this.#client(),
      origin: this.#origin,
      call: <T>(call: Promise<T>) => this.#call(call),
      ttl: Math.ceil(this.#options.resultExpires / 1000),
      log: (text: string) => host.log?.(text),
      storeResult: (record: ResultRecord) => this.store.write([{ op: 'put', ns: 'results', key: record.id, value: record }]),
    }
    this.#consumer = new CeleryConsumer(consumerHost, host, this.#options.visibilityTimeout)
    const revoke = host.revoke
    if (revoke !== undefined) {
      this.#mailbox = new CeleryMailbox({ client: () => this.#client(), db: this.#options.redis.db ?? 0, nodeName: celeriacNodeName(), revoke })
    }
    return Promise.resolve()
  }

  async close(): Promise<void> {
    const consumer = this.#consumer
    const mailbox = this.#mailbox
    this.#consumer = undefined
    this.#mailbox = undefined
    this.#host = undefined
    await Promise.all([consumer?.close(), mailbox?.close()])
  }

  async add(messages: readonly TaskMessage[]): Promise<void> {
    const client = this.#client() as Redis & WithSend
    const now = this.#host?.clock.now() ?? Date.now()
    // Built first: a message the wire cannot carry fails the whole add, before anything is sent.
    const envelopes: Envelope[] = []
    // A chord's header tasks come together: one read of its record for all of them.
    const chords = new Map<string, Promise<ChordRecord | undefined>>()
    for (const message of messages) {
      let record: ChordRecord | undefined
      if (message.chord !== null) {
        const id = message.chord.id
        let read = chords.get(id)
        if (read === undefined) chords.set(id, (read = this.store.get('chords', id) as Promise<ChordRecord | undefined>))
        record = await read
      }
      envelopes.push(toEnvelope(message, this.#origin, now, chordBodyOf(message, record)))
    }
    const sends: Array<Promise<unknown>> = []
    const ttl = Math.ceil(this.#options.resultExpires / 1000)
    for (let i = 0; i < envelopes.length; i++) {
      const message = messages[i]!
      const { queue, priority, text } = envelopes[i]!
      this.#queues.add(queue)
      // The chord's size goes first (same connection, so before the LPUSH): a fast worker that
      // found no size would never send the body.
      if (message.chord !== null && message.groupId !== null) sends.push(client.set(chordSizeKey(message.groupId), String(message.chord.size), 'EX', ttl))
      const bind = binding(queue)
      sends.push(client.celeriacSend(this.#marker(message.id), queueKey(queue, priority), bind.key, text, bind.member, this.#options.resultExpires))
    }
    await this.#call(Promise.all(sends))
  }

  /**
   * Consumes `queue` if it is one of the `queues` option's; any other queue (the app's default
   * queue, or one it only sends to, such as Celery's `celery`) is left to Python workers.
   */
  async listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    const consumer = this.#consumer
    if (!this.#options.queues.includes(queue) || consumer === undefined) return
    // A worker hears Python's revokes from its first queue on, as a Celery worker's pidbox.
    await this.#call(this.#mailbox?.start() ?? Promise.resolve())
    return consumer.listen(queue, concurrency, deliver)
  }

  /**
   * Stops taking from `queue` (`app.control.pause`; every celeriac process hears it through the
   * store). Python workers on the same queue do not: Celery has no queue pause.
   */
  pause(queue: string): Promise<void> {
    this.#consumer?.pause(queue)
    return Promise.resolve()
  }

  resume(queue: string): Promise<void> {
    this.#consumer?.resume(queue)
    return Promise.resolve()
  }

  /** Takes the messages of `ids` out of the lists of the queues this handle sent to (LREM of the exact text). */
  async remove(ids: readonly string[]): Promise<TaskMessage[]> {
    const wanted = new Set(ids)
    const client = this.#client()
    const removed: TaskMessage[] = []
    for (const queue of this.#queues) {
      for (const key of queueKeys(queue)) {
        const texts = await this.#call(client.lrange(key, 0, -1))
        for (const text of texts) {
          const message = fromEnvelope(text)
          if (message === undefined || !wanted.has(message.id)) continue
          // Zero when a worker took it meanwhile: then it is that worker's.
          if ((await this.#call(client.lrem(key, 1, text))) > 0) {
            removed.push(message)
            wanted.delete(message.id)
          }
        }
      }
    }
    return removed
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#call(this.#client().del(...ids.map((id) => this.#marker(id))))
  }

  /** Drops every list of `queue` (or of each queue this handle sent to), as `celery purge` does. */
  async purge(queue: string | undefined): Promise<number> {
    const keys = (queue === undefined ? [...this.#queues] : [queue]).flatMap(queueKeys)
    if (keys.length === 0) return 0
    const multi = this.#client().multi()
    for (const key of keys) multi.llen(key)
    multi.del(...keys)
    const replies = (await this.#call(multi.exec())) ?? []
    let count = 0
    for (let i = 0; i < keys.length; i++) count += Number(replies[i]?.[1] ?? 0)
    return count
  }

  #marker(id: string): string {
    return `${this.#options.prefix}::sent:${id}`
  }

  #client(): Redis {
    return this.store.client()
  }

  async #call<T>(call: Promise<T>): Promise<T> {
    try {
      return await call
    } catch (error) {
      throw new StorageError(
        `Redis at ${this.#options.where} failed a call of celeryTransport (${error instanceof Error ? error.message : String(error)}): check that Redis runs there`,
        { cause: error },
      )
    }
  }
}
