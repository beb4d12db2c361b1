/**
 * The consuming half of `celeryTransport`: takes messages from kombu's Redis queues as a Python
 * Celery worker does (research/celery-wire.md §5), so that Python callers' tasks run here.
 * - take: BRPOP of the queue's priority lists (step 0 first), then, before the message is handed
 *   over, `unacked` (tag → `[message, exchange, routing_key]`) and `unacked_index` (tag → time
 *   taken) in one MULTI. Not atomic with the BRPOP, as in kombu: a crash between loses it.
 * - ack: ZREM + HDEL of the tag. requeue / defer: the next message LPUSHed (a retry carries its
 *   eta, as Celery's retry republishes) and the tag removed, in one MULTI.
 * - restore (kombu's `restore_visible`, at the first listen, then every 100 s or visibility
 *   timeout if shorter): each tag taken longer ago than the visibility timeout goes back to its
 *   queue's list (RPUSH, next to be taken), marked redelivered; never one this process holds.
 * - close (kombu's warm shutdown): what was taken and is still not settled goes back the same way.
 * - held: each tag this process holds is scored again in `unacked_index` while held (keep-held.ts),
 *   so that no restore (a Python worker's neither) takes a message held past the visibility timeout.
 * - bad input (bad-message.ts): a message it cannot run is dropped before `unacked`, the app told.
 */
import type { Redis } from 'ioredis'
import type { Json } from '../core/model/json.js'
import type { ResultRecord, TaskMessage } from '../core/model/message.js'
import type { Delivery, TransportHost } from '../core/engine/transport.js'
import { KWARGS_KEY, queueKey, queueKeys, toEnvelope } from './envelope.js'
import { countChordPart } from './celery-chord.js'
import { type BadMessage, readTaken } from './bad-message.js'
import { keepHeldFresh } from './keep-held.js'

const UNACKED = 'unacked'
const UNACKED_INDEX = 'unacked_index'
/** kombu's BRPOP timeout (seconds): how long a close waits for a take under way. */
const POLL_SECONDS = 1
/** How often kombu restores in effect (a 10 s timer acting every 10th call). */
const RESTORE_EVERY = 100_000

/**
 * Moves one unacked message back to its list if it is still the one read (a Python worker may
 * have restored it meanwhile). KEYS: unacked, unacked_index, list. ARGV: tag, text read, new text.
 */
const RESTORE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
`

interface WithRestore {
  celeriacRestore(unacked: string, index: string, list: string, tag: string, read: string, text: string): Promise<number>
}

type JsonObject = { [key: string]: Json }

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** What the consumer needs of its transport. */
export interface ConsumerHost {
  /** The shared connection (acks, unacked bookkeeping). */
  client(): Redis
  /** Celery's `origin` header of messages sent back (retries, requeues). */
  readonly origin: string
  /** Wraps a Redis call so that a failure is a StorageError. */
  call<T>(call: Promise<T>): Promise<T>
  /** Celery's `result_expires` in seconds (a chord's keys, a chord's failure). */
  readonly ttl: number
  /** Hears what went wrong outside any call of the app (a chord that could not fire). */
  log(text: string): void
  /** Stores a result in Celery's backend (a dropped message's FAILURE). */
  storeResult(record: ResultRecord): Promise<void>
}

export class CeleryConsumer {
  readonly #host: ConsumerHost
  readonly #app: TransportHost
  readonly #visibilityTimeout: number
  readonly #loops = new Map<string, Promise<void>>()
  readonly #connections: Redis[] = []
  /** Loops waiting for a delivery to settle (at their concurrency): a close frees them. */
  readonly #waiting = new Set<() => void>()
  /** Taken and not settled: tag → its `unacked` entry, for the warm shutdown's restore. */
  readonly #held = new Map<string, string>()
  #stopped = false
  /** Queues the app paused: their loops take nothing until resumed. */
  readonly #paused = new Set<string>()
  #restored: Promise<void> | undefined
  #restoreTimer: ReturnType<typeof setInterval> | undefined
  #stopKeeping: (() => void) | undefined

  constructor(host: ConsumerHost, app: TransportHost, visibilityTimeout: number) {
    this.#host = host
    this.#app = app
    this.#visibilityTimeout = visibilityTimeout
  }

  /** Starts taking from `queue` (once), at most `concurrency` deliveries unsettled at a time. */
  async listen(queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    if (this.#loops.has(queue) || this.#stopped) return
    // Restore first, so what a dead consumer held is taken before newer messages (RPUSH: next).
    this.#restored ??= this.#firstRestore()
    const placeholder = Promise.resolve()
    this.#loops.set(queue, placeholder)
    try {
      await this.#restored
    } catch (error) {
      // Redis failed: the engine logs it, and a later listen tries again.
      this.#loops.delete(queue)
      this.#restored = undefined
      throw error
    }
    if (this.#stopped) return
    const connection = this.#host.client().duplicate()
    // Errors surface on the calls (and the loop retries); an unheard 'error' event would crash.
    connection.on('error', () => undefined)
    this.#connections.push(connection)
    this.#loops.set(queue, this.#loop(connection, queue, Math.max(1, concurrency), deliver))
  }

  /** Stops taking from `queue` (`app.control.pause`); a message a BRPOP under way brings goes back. */
  pause(queue: string): void {
    this.#paused.add(queue)
  }

  /** Takes from `queue` again. */
  resume(queue: string): void {
    if (!this.#paused.delete(queue)) return
    // Waiting loops check again (the paused one goes on; the others wait on).
    for (const free of [...this.#waiting]) free()
  }

  /**
   * Stops taking; waits for a take under way (up to kombu's one-second poll), disconnects, and
   * puts back what it still holds (the engine gives back what it never started first; a take
   * that raced with the stop, or a run still going when the stop timed out, is left here).
   */
  async close(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#restoreTimer)
    this.#stopKeeping?.()
    for (const free of this.#waiting) free()
    await Promise.allSettled(this.#loops.values())
    for (const connection of this.#connections) connection.disconnect()
    this.#connections.length = 0
    for (const [tag, entry] of [...this.#held]) {
      this.#held.delete(tag)
      await this.#restore(tag, entry)
    }
  }

  async #firstRestore(): Promise<void> {
    await this.restoreVisible()
    if (this.#stopped || this.#restoreTimer !== undefined) return
    // A failed periodic restore is tried again at the next tick.
    const every = Math.min(RESTORE_EVERY, this.#visibilityTimeout)
    this.#restoreTimer = setInterval(() => void this.restoreVisible().catch(() => undefined), every)
    // Never what keeps a process alive.
    if (typeof this.#restoreTimer === 'object' && 'unref' in this.#restoreTimer) this.#restoreTimer.unref()
    // What this process holds beyond the visibility timeout (an eta, a long run) is not restored by others.
    this.#stopKeeping = keepHeldFresh(
      () => this.#held.keys(),
      () => this.#host.client(),
      UNACKED_INDEX,
      this.#visibilityTimeout,
    )
  }

  /**
   * kombu's `restore_visible`: what was taken longer ago than the visibility timeout goes back to
   * its queue, except what this process holds (a long run of its own is not a dead consumer's).
   */
  async restoreVisible(): Promise<void> {
    const client = this.#host.client()
    const before = (Date.now() - this.#visibilityTimeout) / 1000
    const tags = await this.#host.call(client.zrangebyscore(UNACKED_INDEX, 0, before))
    for (const tag of tags) {
      if (this.#held.has(tag)) continue
      const read = await this.#host.call(client.hget(UNACKED, tag))
      if (read === null) {
        await this.#host.call(client.zrem(UNACKED_INDEX, tag))
        continue
      }
      await this.#restore(tag, read)
    }
  }

  /** Moves `tag` back to its queue if its `unacked` entry is still `read`. */
  async #restore(tag: string, read: string): Promise<void> {
    const restored = restoredText(read)
    // Not a kombu entry we can read: left for a Python worker's restore.
    if (restored === undefined) return
    const client = this.#host.client() as Redis & WithRestore
    if (typeof client.celeriacRestore !== 'function') client.defineCommand('celeriacRestore', { numberOfKeys: 3, lua: RESTORE })
    await this.#host.call(client.celeriacRestore(UNACKED, UNACKED_INDEX, restored.list, tag, read, restored.text))
  }

  async #loop(connection: Redis, queue: string, concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    const keys = queueKeys(queue)
    let unsettled = 0
    let freed: (() => void) | undefined
    const settled = (): void => {
      unsettled--
      freed?.()
    }
    while (!this.#stopped) {
      if (unsettled >= concurrency || this.#paused.has(queue)) {
        await new Promise<void>((resolve) => {
          freed = resolve
          this.#waiting.add(resolve)
        })
        this.#waiting.delete(freed!)
        freed = undefined
        continue
      }
      let popped: [string, string] | null
      try {
        popped = await connection.brpop(...keys, POLL_SECONDS)
      } catch {
        // Redis went away: the connection reconnects; try again shortly.
        if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, POLL_SECONDS * 1000))
        continue
      }
      if (popped === null) continue
      if (this.#paused.has(queue)) {
        // Paused while the BRPOP waited: back to where it was taken from, next to be taken.
        await this.#host.call(this.#host.client().rpush(popped[0], popped[1])).catch(() => undefined)
        continue
      }
      const taken = await this.#take(queue, popped[1])
      // Not a task message to run: dropped and reported (#reject), as a Celery worker rejects it.
      if (taken === undefined) continue
      unsettled++
      deliver(this.#delivery(taken, settled))
      this.#app.wake()
    }
  }

  /** Records the message in `unacked` / `unacked_index` under its delivery tag, then reads it. */
  async #take(queue: string, text: string): Promise<Taken | undefined> {
    const read = readTaken(text, queue, (name) => this.#app.defines?.(name) ?? true)
    if (!read.ok) {
      await this.#reject(read)
      return undefined
    }
    const { message, envelope, properties, chordBody } = read
    const info = isObject(properties.delivery_info) ? properties.delivery_info : {}
    const tag = typeof properties.delivery_tag === 'string' ? properties.delivery_tag : globalThis.crypto.randomUUID()
    const exchange = typeof info.exchange === 'string' ? info.exchange : ''
    const routingKey = typeof info.routing_key === 'string' ? info.routing_key : queue
    const entry = JSON.stringify([envelope, exchange, routingKey])
    await this.#host.call(
      this.#host
        .client()
        .multi()
        .zadd(UNACKED_INDEX, Date.now() / 1000, tag)
        .hset(UNACKED, tag, entry)
        .exec(),
    )
    this.#held.set(tag, entry)
    return { tag, chordBody, ...unwrapKwargs({ ...message, queue }) }
  }

  /**
   * Drops a message that is not a task message to run, as a Celery worker rejects it: it never
   * entered `unacked`, so no restore brings it back. Its FAILURE is stored where Celery stores
   * one, then the app is told. Never throws: the loop goes on serving.
   */
  async #reject(bad: BadMessage): Promise<void> {
    try {
      if (bad.failure !== undefined) await this.#host.storeResult(bad.failure)
    } catch {
      // Redis failed: the message is gone either way, and the app still hears of it.
    }
    try {
      this.#app.rejected?.(bad.error)
    } catch {
      // A listener's throw is not the consumer's to stop on.
    }
  }

  #delivery(taken: Taken, settled: () => void): Delivery {
    const { tag, message, kwargs, chordBody } = taken
    let done = false
    const settle = async (what: string, back?: TaskMessage): Promise<void> => {
      if (done) throw new Error(`Delivery of ${message.id}: ${what} after it was settled`)
      done = true
      this.#held.delete(tag)
      try {
        const multi = this.#host.client().multi()
        if (back !== undefined) {
          const envelope = toEnvelope(rewrapKwargs(back, kwargs), this.#host.origin, Date.now(), undefined, chordBody)
          multi.lpush(queueKey(envelope.queue, envelope.priority), envelope.text)
        }
        await this.#host.call(multi.zrem(UNACKED_INDEX, tag).hdel(UNACKED, tag).exec())
      } finally {
        settled()
      }
    }
    const ack = async (): Promise<void> => {
      // A chord header task counts once its outcome is stored (as Celery's backend does), and
      // before the ack: a crash in between delivers it again, and counting it again is a no-op.
      if (chordBody !== null && message.groupId !== null && !done) {
        const part = { id: message.id, rootId: message.rootId, groupId: message.groupId, groupIndex: message.groupIndex, body: chordBody }
        await countChordPart(this.#host, part).catch((error: unknown) =>
          this.#host.log(`celeriac: could not count ${message.id} for its Celery chord ${message.groupId} (${String(error)}); the chord's body may not fire`),
        )
      }
      await settle('ack')
    }
    return {
      message,
      redelivered: message.redelivered,
      ack,
      defer: (next, at) => settle('defer', { ...next, eta: at }),
      requeue: (next) => settle('requeue', next),
    }
  }
}

interface Taken {
  readonly tag: string
  readonly message: TaskMessage
  /** The message came with kwargs: its last argument is them, as a plain object. */
  readonly kwargs: boolean
  /** A chord header task's body, as Celery's signature dict (from-envelope.ts). */
  readonly chordBody: JsonObject | null
}

/**
 * A celeriac task gets a Python caller's kwargs as a trailing plain object (none when empty);
 * the `kwargs()` wrapper that `fromEnvelope` leaves is taken off, and put back on a message sent
 * back (a retry), so that it travels as kwargs again.
 */
function unwrapKwargs(message: TaskMessage): { message: TaskMessage; kwargs: boolean } {
  const last = message.args[message.args.length - 1]
  if (!isObject(last) || !(KWARGS_KEY in last)) return { message, kwargs: false }
  return { message: { ...message, args: [...message.args.slice(0, -1), last[KWARGS_KEY]!] }, kwargs: true }
}

function rewrapKwargs(message: TaskMessage, kwargs: boolean): TaskMessage {
  if (!kwargs || message.args.length === 0) return message
  return { ...message, args: [...message.args.slice(0, -1), { [KWARGS_KEY]: message.args[message.args.length - 1]! }] }
}

/** An `unacked` entry as the envelope text kombu's restore pushes back, and the list it goes to. */
function restoredText(read: string): { text: string; list: string } | undefined {
  let entry: unknown
  try {
    entry = JSON.parse(read)
  } catch {
    return undefined
  }
  if (!Array.isArray(entry) || !isObject(entry[0]) || typeof entry[2] !== 'string') return undefined
  const envelope = entry[0]
  const headers = isObject(envelope.headers) ? envelope.headers : {}
  const properties = isObject(envelope.properties) ? envelope.properties : {}
  const info = isObject(properties.delivery_info) ? properties.delivery_info : {}
  const text = JSON.stringify({
    ...envelope,
    headers: { ...headers, redelivered: true },
    properties: { ...properties, delivery_info: { ...info, redelivered: true } },
  })
  const priority = typeof properties.priority === 'number' ? properties.priority : 0
  // Exchange '' is the default exchange: the routing key is the queue.
  return { text, list: queueKey(entry[2], priority) }
}
