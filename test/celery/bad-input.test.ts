/**
 * Bad input on Celery's wire (issue 17 item 4): a celeriac app serving a queue drops each message
 * it cannot run with a typed 'message-rejected' event, stores a FAILURE only where Celery 5.2's
 * worker stores one, never takes a bad message back from kombu's `unacked`, and keeps serving;
 * and a message held past the visibility timeout (a long countdown) runs once, though other
 * consumers restore stale entries meanwhile. Raw envelopes are LPUSHed as a producer would;
 * Python (Debian's python3-celery, 5.2) reads stored failures and restores as a worker, when
 * installed. Real time. Redis db 13, a queue and key prefix per test, keys deleted after.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { queueKey } from '../../src/celery/envelope.js'
import { Celeriac, MessageError, type MessageRejectedEvent } from '../../src/index.js'
import { celeryInterop, dropUnacked, kombuKeys, type PythonWorker, pythonResult, startPythonWorker } from './python-worker.js'

const DB = 13
const URL = `redis://127.0.0.1:6379/${String(DB)}`
const { up, python } = await celeryInterop()

type Fields = Record<string, unknown>

const base64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64')

/** A Celery protocol 2 envelope for `queue`, as kombu writes it; `override` replaces or (undefined) removes top-level fields. */
function envelope(queue: string, headers: Fields, body: string, override: Fields = {}): string {
  return JSON.stringify({
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { lang: 'py', ...headers },
    properties: { delivery_tag: randomUUID(), delivery_info: { exchange: '', routing_key: queue }, body_encoding: 'base64', priority: 0 },
    ...override,
  })
}

describe.skipIf(!up)(`bad input on Celery's wire${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  let redis: Redis
  const apps: Celeriac[] = []
  const workers: PythonWorker[] = []
  const keys = new Set<string>()
  const queues: string[] = []

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()))
    await Promise.all(workers.splice(0).map((worker) => worker.stop()))
    if (keys.size > 0) await redis.del(...keys)
    keys.clear()
    await dropUnacked(redis, queues)
    queues.length = 0
  })
  afterAll(() => redis.disconnect())

  /** A queue of its own (its lists, binding and the app's records marked for deletion). */
  function queueOf(): { queue: string; prefix: string } {
    const run = randomUUID().slice(0, 8)
    const queue = `celeriac-bad-${run}`
    queues.push(queue)
    for (const key of kombuKeys(queue)) keys.add(key)
    return { queue, prefix: `celeriac-bad-${run}` }
  }

  async function forget(prefix: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) keys.add(`celery-task-meta-${id}`)
    for (const key of await redis.keys(`${prefix}::*`)) keys.add(key)
  }

  function serving(queue: string, prefix: string, visibilityTimeout?: number): { app: Celeriac; rejected: MessageRejectedEvent[] } {
    const transport = celeryTransport({ url: URL, prefix, queues: [queue], ...(visibilityTimeout === undefined ? {} : { visibilityTimeout }) })
    const app = new Celeriac({ transport, queues: { [queue]: {} } })
    app.task('node.add', (a: number, b: number) => a + b)
    const rejected: MessageRejectedEvent[] = []
    app.events.on('message-rejected', (event) => rejected.push(event))
    apps.push(app)
    return { app, rejected }
  }

  const heldOf = async (queue: string): Promise<string[]> => (await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))

  it('drops each message it cannot run with a typed event, stores a FAILURE only where Celery would, and serves the next one', async () => {
    const { queue, prefix } = queueOf()
    const add = { task: 'node.add' }
    const good = base64([[2, 3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }])
    const ids = Array.from({ length: 14 }, () => randomUUID())
    // [text, reason, stored?] in the order pushed (and taken: LPUSH, BRPOP from the tail).
    const cases: Array<[string, string]> = [
      ['not json at all', 'envelope'],
      [JSON.stringify([1, 2, 3]), 'envelope'],
      [envelope(queue, { id: ids[2] }, good), 'task-name'],
      [envelope(queue, add, good), 'task-id'],
      [envelope(queue, { ...add, id: ids[4] }, 'gASVAAAAAAAAAAB9lC4=', { 'content-type': 'application/x-python-serialize' }), 'content-type'],
      [envelope(queue, { ...add, id: ids[5] }, base64('[[1, 2], {}, {}]'), { 'content-type': 'application/x-yaml' }), 'content-type'],
      [envelope(queue, { ...add, id: ids[6] }, good, { 'content-type': undefined }), 'content-type'],
      [envelope(queue, { ...add, id: ids[7] }, base64([[1, 2], {}])), 'body'],
      [envelope(queue, { ...add, id: ids[8] }, 'bm90IGpzb24='), 'body'],
      [envelope(queue, { ...add, id: ids[9] }, base64([[1, 2], {}, 'x'])), 'body'],
      [envelope(queue, { ...add, id: ids[10], eta: 'tomorrow' }, good), 'time'],
      [envelope(queue, { ...add, id: ids[11] }, base64([[1, 2], 'x', {}])), 'arguments'],
      // Celery calls add(*None): TypeError, stored.
      [envelope(queue, { ...add, id: ids[12] }, base64([null, {}, {}])), 'arguments'],
      // A name no one runs here: Celery stores NotRegistered before it reads the rest.
      [envelope(queue, { task: 'node.nope', id: ids[13] }, 'gASVAAAAAAAAAAB9lC4=', { 'content-type': 'application/x-python-serialize' }), 'content-type'],
    ]
    await redis.lpush(queueKey(queue, 0), ...cases.map(([text]) => text))
    const goodId = randomUUID()
    await redis.lpush(queueKey(queue, 0), envelope(queue, { ...add, id: goodId }, good))
    const { app, rejected } = serving(queue, prefix)
    // A listener that throws does not stop the consumer.
    app.events.on('message-rejected', () => {
      throw new Error('a listener bug')
    })
    await app.start()
    try {
      expect(await app.AsyncResult<number>(goodId).get({ timeout: 10_000 })).toBe(5)
      expect(rejected.map((e) => [e.error.reason, e.queue])).toEqual(cases.map(([, reason]) => [reason, queue]))
      for (const { error } of rejected) {
        expect(error).toBeInstanceOf(MessageError)
        expect(error.code).toBe('BAD_MESSAGE')
        expect(error.queue).toBe(queue)
      }
      expect(rejected.map((e) => e.error.taskId)).toEqual([null, null, null, null, ...ids.slice(4)])
      expect(rejected[3]!.error.taskName).toBe('node.add')
      expect(rejected[13]!.error.taskName).toBe('node.nope')
      // Stored: only the TypeError of add(*None) and NotRegistered; nothing for the others.
      const metas = await Promise.all(ids.map((id) => redis.get(`celery-task-meta-${id}`)))
      expect(metas.map((meta, i) => (meta === null ? null : i))).toEqual(ids.map((_, i) => (i === 12 || i === 13 ? i : null)))
      expect(JSON.parse(metas[12]!)).toMatchObject({
        status: 'FAILURE',
        result: { exc_type: 'TypeError', exc_module: 'builtins', exc_message: ['node.add() argument after * must be a list, not NoneType'] },
        task_id: ids[12],
      })
      expect(JSON.parse(metas[13]!)).toMatchObject({
        status: 'FAILURE',
        result: { exc_type: 'NotRegistered', exc_module: 'celery.exceptions', exc_message: ['node.nope'] },
        task_id: ids[13],
      })
      if (python !== undefined) {
        // Python raises its own class, built from the bare name as Celery stores it.
        expect(pythonResult(python, URL, ids[13]!)).toEqual({
          state: 'FAILURE',
          result: expect.stringContaining("'node.nope'") as string,
          module: 'celery.exceptions',
        })
        expect(pythonResult(python, URL, ids[12]!)).toMatchObject({ state: 'FAILURE', module: 'builtins' })
      }
      // Nothing left behind: the lists are empty, and no bad message entered kombu's unacked.
      expect(await redis.llen(queueKey(queue, 0))).toBe(0)
      expect(await heldOf(queue)).toEqual([])
    } finally {
      await forget(prefix, [...ids, goodId])
    }
  })

  it('a bad message left in unacked by a crashed worker is restored once, dropped, and never comes back', async () => {
    const { queue, prefix } = queueOf()
    const id = randomUUID()
    // What a Python worker dies on (a two-element body) and its warm shutdown would restore forever.
    const text = envelope(queue, { task: 'node.add', id }, base64([[1, 2], {}]))
    const tag = (JSON.parse(text) as { properties: { delivery_tag: string } }).properties.delivery_tag
    await redis
      .multi()
      .zadd('unacked_index', Date.now() / 1000 - 5, tag)
      .hset('unacked', tag, JSON.stringify([JSON.parse(text), '', queue]))
      .exec()
    const goodId = randomUUID()
    await redis.lpush(queueKey(queue, 0), envelope(queue, { task: 'node.add', id: goodId }, base64([[20, 22], {}, null])))
    const { app, rejected } = serving(queue, prefix, 1_000)
    await app.start()
    try {
      expect(await app.AsyncResult<number>(goodId).get({ timeout: 10_000 })).toBe(42)
      expect(rejected.map((e) => [e.error.reason, e.error.taskId])).toEqual([['body', id]])
      expect(await redis.hexists('unacked', tag)).toBe(0)
      expect(await redis.zscore('unacked_index', tag)).toBeNull()
      expect(await redis.llen(queueKey(queue, 0))).toBe(0)
      expect(await redis.get(`celery-task-meta-${id}`)).toBeNull()
    } finally {
      await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
      await forget(prefix, [id, goodId])
    }
  })

  it(`runs once a countdown longer than the visibility timeout, while another app${python === undefined ? '' : ' and a Python worker'} restore stale entries (real time: ~8 s)`, async () => {
    const { queue, prefix } = queueOf()
    const visibilityTimeout = 1_000
    let runs = 0
    const count = (app: Celeriac): void => {
      app.task('node.count', () => ++runs)
    }
    const first = serving(queue, prefix, visibilityTimeout).app
    count(first)
    await first.start()
    const id = randomUUID()
    const eta = Date.now() + 7_000
    await redis.lpush(queueKey(queue, 0), envelope(queue, { task: 'node.count', id, eta: new Date(eta).toISOString() }, base64([[], {}, null])))
    try {
      await vi.waitFor(async () => expect(await heldOf(queue)).toHaveLength(1))
      const heldAt = Date.now()
      // Another app serving the queue restores every stale entry at its start and each visibility timeout.
      await new Promise((resolve) => setTimeout(resolve, 1.5 * visibilityTimeout))
      const second = serving(queue, prefix, visibilityTimeout).app
      count(second)
      await second.start()
      if (python !== undefined) {
        // A Python worker (on a queue of its own) restores every stale entry of the db when it starts.
        const own = queueOf()
        workers.push(await startPythonWorker(python, URL, own.queue, { CELERY_VISIBILITY_TIMEOUT: String(visibilityTimeout / 1000) }))
        // Its restore ran while the message had been held past the timeout, before it was due.
        expect(Date.now() - heldAt).toBeGreaterThan(visibilityTimeout)
        expect(Date.now()).toBeLessThan(eta)
      }
      // Real time is the point: just before it is due, it is still the first take, never put back
      // (a restore marks what it puts back redelivered, kombu's and celeriac's alike).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, eta - 700 - Date.now())))
      const held = await heldOf(queue)
      expect(held).toHaveLength(1)
      expect(held[0]).not.toContain('redelivered')
      expect(await first.AsyncResult<number>(id).get({ timeout: 15_000 })).toBe(1)
      await Promise.all(apps.splice(0).map((app) => app.stop()))
      // Not run twice, nor held or given back anywhere.
      expect(runs).toBe(1)
      expect(await redis.llen(queueKey(queue, 0))).toBe(0)
      expect(await heldOf(queue)).toEqual([])
    } finally {
      await forget(prefix, [id])
    }
  })
})
