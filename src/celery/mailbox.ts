/**
 * Celery's remote control as a celeriac worker hears it (kombu's pidbox on Redis): Python's
 * `app.control.revoke(id, terminate=...)` is a PUBLISH of a kombu envelope on the fanout channel
 * `/<db>.celery.pidbox`, whose body is `{method, arguments, destination, pattern, matcher}` (plus
 * `ticket` and `reply_to` when the caller waits for replies). This node answers:
 * - `revoke` / `terminate`: the app revokes the ids (`task_id`, one or a list), with `terminate`;
 *   the `signal` is not used (a celeriac run is aborted, not killed).
 * - `ping`: `{ok: 'pong'}`, so `app.control.ping()` lists it.
 * Every other method is ignored, with no reply (a Celery worker logs "No such control command").
 * A reply (only when `reply_to` is set) is an envelope LPUSHed to the reply queue bound in
 * `_kombu.binding.reply.celery.pidbox` under the caller's routing key, body `{<node name>: reply}`.
 */
import { Buffer } from 'node:buffer'
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import type { Json } from '../core/model/json.js'

/** Celery's `control_exchange` default (`celery`) as kombu's pidbox exchange (replies name theirs). */
const EXCHANGE = 'celery.pidbox'
/** kombu's separator in a binding member: routing key, pattern, queue. */
const SEP = '\x06\x16'

type JsonObject = { [key: string]: Json }

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The node name Python's remote control sees (Celery's `-n`, `celery@%h` by default):
 * `celeriac@<host name>`. Every celeriac process of a host shares it, as Celery workers left at
 * their default name do: a `destination` naming it reaches all of them.
 */
export function celeriacNodeName(): string {
  return `celeriac@${hostname()}`
}

/** What the mailbox needs of its transport. */
export interface MailboxHost {
  /** The shared connection (replies); the mailbox subscribes on a duplicate of it. */
  client(): Redis
  /** The Redis database number: kombu's fanout channels are prefixed `/<db>.`. */
  readonly db: number
  /** This node's name, matched against a broadcast's `destination` and the key of its replies. */
  readonly nodeName: string
  /** The app's revoke (never rejects). */
  revoke(ids: readonly string[], options: { readonly terminate: boolean }): Promise<void>
}

/** A broadcast's body, as kombu's `Mailbox._publish` builds it. */
interface Command {
  readonly method: string
  readonly arguments: JsonObject
  readonly destination: readonly string[] | null
  readonly pattern: string | null
  readonly matcher: string | null
  readonly ticket: string | null
  readonly replyTo: { readonly exchange: string; readonly routingKey: string } | null
}

export class CeleryMailbox {
  readonly #host: MailboxHost
  #subscriber: Redis | undefined
  #started: Promise<void> | undefined
  #closed = false
  /** Commands under way (a revoke being stored, a reply sent): a close waits for them. */
  readonly #inFlight = new Set<Promise<void>>()

  constructor(host: MailboxHost) {
    this.#host = host
  }

  /** Subscribes to the broadcast channel (once); resolves once subscribed. */
  start(): Promise<void> {
    this.#started ??= this.#subscribe()
    return this.#started
  }

  async close(): Promise<void> {
    this.#closed = true
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    subscriber?.disconnect()
    await Promise.allSettled(this.#inFlight)
  }

  async #subscribe(): Promise<void> {
    if (this.#closed) return
    const subscriber = this.#host.client().duplicate()
    // A lost connection resubscribes by itself (ioredis); an unheard 'error' event would crash.
    subscriber.on('error', () => undefined)
    const channel = `/${String(this.#host.db)}.${EXCHANGE}`
    subscriber.on('message', (from: string, text: string) => {
      if (from !== channel) return
      // A reply Redis refused is dropped: the caller's collect times out, as when a worker is down.
      const work = this.#handle(text).catch(() => undefined)
      this.#inFlight.add(work)
      void work.finally(() => this.#inFlight.delete(work))
    })
    this.#subscriber = subscriber
    try {
      await subscriber.subscribe(channel)
    } catch (error) {
      // Closed meanwhile: nothing to hear any more.
      if (this.#closed) return
      subscriber.disconnect()
      this.#subscriber = undefined
      this.#started = undefined
      throw error
    }
  }

  async #handle(text: string): Promise<void> {
    const command = readCommand(text)
    if (command === undefined || !this.#isForMe(command)) return
    const reply = await this.#dispatch(command)
    if (reply !== undefined && command.replyTo !== null) await this.#reply(command, reply)
  }

  /** kombu's `Node.handle_message`: a destination list names the node, or a pattern matches it, or neither is given. */
  #isForMe(command: Command): boolean {
    const name = this.#host.nodeName
    if (command.destination !== null && command.destination.length > 0) return command.destination.includes(name)
    if (command.pattern !== null && command.matcher !== null) return matches(name, command.pattern, command.matcher)
    return true
  }

  /** Runs a command; resolves with its reply, or undefined for a method this node does not answer. */
  async #dispatch(command: Command): Promise<JsonObject | undefined> {
    const args = command.arguments
    switch (command.method) {
      case 'ping':
        return { ok: 'pong' }
      case 'revoke':
      case 'terminate': {
        const raw = args.task_id
        const ids = (Array.isArray(raw) ? raw : [raw]).filter((id): id is string => typeof id === 'string' && id !== '')
        if (ids.length === 0) return undefined
        const terminate = command.method === 'terminate' || args.terminate === true
        await this.#host.revoke(ids, { terminate })
        // Celery's wording for a plain revoke; with terminate it names the ids it found running,
        // which the app does not report back: the same sentence is honest for both.
        return { ok: `tasks ${ids.join(', ')} flagged as revoked` }
      }
      default:
        return undefined
    }
  }

  /** kombu's `_publish_reply` on Redis: a direct exchange, so the queues bound under the routing key. */
  async #reply(command: Command, reply: JsonObject): Promise<void> {
    const client = this.#host.client()
    const { exchange, routingKey } = command.replyTo!
    const members = await client.smembers(`_kombu.binding.${exchange}`)
    const queues = members.map((member) => member.split(SEP)).filter((parts) => parts[0] === routingKey && parts[2] !== undefined)
    // No queue bound: the caller stopped waiting (kombu ignores that too).
    if (queues.length === 0) return
    const envelope = JSON.stringify({
      body: Buffer.from(JSON.stringify({ [this.#host.nodeName]: reply }), 'utf8').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { ticket: command.ticket, clock: 0 },
      properties: {
        delivery_mode: 1,
        delivery_info: { exchange, routing_key: routingKey },
        priority: 0,
        body_encoding: 'base64',
        delivery_tag: globalThis.crypto.randomUUID(),
      },
    })
    await Promise.all(queues.map((parts) => client.lpush(parts[2]!, envelope)))
  }
}

/** A pidbox envelope's command, or undefined if it is not one (not JSON, another content type). */
function readCommand(text: string): Command | undefined {
  let envelope: unknown
  try {
    envelope = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(envelope) || envelope['content-type'] !== 'application/json' || typeof envelope.body !== 'string') return undefined
  const properties = isObject(envelope.properties) ? envelope.properties : {}
  let body: unknown
  try {
    const raw = properties.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : envelope.body
    body = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!isObject(body) || typeof body.method !== 'string') return undefined
  const destination = Array.isArray(body.destination) ? body.destination.filter((d): d is string => typeof d === 'string') : null
  const replyTo = isObject(body.reply_to) ? body.reply_to : undefined
  return {
    method: body.method,
    arguments: isObject(body.arguments) ? body.arguments : {},
    destination,
    pattern: typeof body.pattern === 'string' ? body.pattern : null,
    matcher: typeof body.matcher === 'string' ? body.matcher : null,
    ticket: typeof body.ticket === 'string' ? body.ticket : null,
    replyTo:
      replyTo !== undefined && typeof replyTo.exchange === 'string' && typeof replyTo.routing_key === 'string'
        ? { exchange: replyTo.exchange, routingKey: replyTo.routing_key }
        : null,
  }
}

/**
 * kombu's matchers: `glob` (Python's fnmatch: `*`, `?`, `[...]`, the whole name) and `pcre`
 * (Python's `re.match`: anchored at the start). Any other matcher matches nothing (kombu raises).
 */
function matches(name: string, pattern: string, matcher: string): boolean {
  try {
    if (matcher === 'pcre') return new RegExp(`^(?:${pattern})`).test(name)
    if (matcher !== 'glob') return false
    let source = ''
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!
      if (c === '*') source += '.*'
      else if (c === '?') source += '.'
      else if (c === '[' && pattern.indexOf(']', i + 2) !== -1) {
        const end = pattern.indexOf(']', i + 2)
        let inner = pattern.slice(i + 1, end).replace(/\\/g, '\\\\')
        // fnmatch negates with '!'; a leading '^' is a plain character there.
        if (inner.startsWith('!')) inner = `^${inner.slice(1)}`
        else if (inner.startsWith('^')) inner = `\\${inner}`
        source += `[${inner}]`
        i = end
      } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    }
    return new RegExp(`^${source}$`, 's').test(name)
  } catch {
    // A pattern JS cannot read: no match, as a Python one that raised dispatches nothing.
    return false
  }
}
