/**
 * Python → Node on Celery's own wire: a celeriac app on `celeryTransport({ queues })` serves tasks
 * that real Python Celery callers (Debian's python3-celery, 5.2; fixtures/caller.py, a child
 * process by pid) send with `send_task` / `apply_async`, and Python's `AsyncResult.get()` reads
 * what celeriac stored. Real time: the caller is another process. Redis db 12 (the restore test
 * puts back every stale `unacked` entry of its db), a queue and key prefix per test, keys deleted.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, type Task } from '../../src/index.js'
import { celeryInterop, kombuKeys, dropUnacked, startPythonCaller } from './python-worker.js'

const DB = 12
const URL = `redis://127.0.0.1:6379/${String(DB)}`
const { python, skipWhy } = await celeryInterop()

class QuotaError extends Error {
  override name = 'QuotaError'
}

describe.skipIf(skipWhy !== '')(`Python → Node over Celery's wire${skipWhy}`, () => {
  let redis: Redis
  const apps: Celeriac[] = []
  const keys = new Set<string>()
  const queues: string[] = []

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()))
    if (keys.size > 0) await redis.del(...keys)
    keys.clear()
    // A failing run may leave its messages taken and not acked: kombu's entries of these queues go too.
    await dropUnacked(redis, queues)
    queues.length = 0
  })
  afterAll(() => redis.disconnect())

  /** A queue of its own, its lists and binding marked for deletion. */
  function queueOf(): { queue: string; prefix: string } {
    const run = randomUUID().slice(0, 8)
    const queue = `celeriac-p2n-${run}`
    queues.push(queue)
    for (const key of kombuKeys(queue)) keys.add(key)
    return { queue, prefix: `celeriac-p2n-${run}` }
  }

  function serving(queue: string, prefix: string, visibilityTimeout?: number, sendsTo?: string): Celeriac {
    const transport = celeryTransport({ url: URL, prefix, queues: [queue], ...(visibilityTimeout === undefined ? {} : { visibilityTimeout }) })
    const app = new Celeriac({ transport, queues: { [queue]: {}, ...(sendsTo === undefined ? {} : { [sendsTo]: {} }) } })
    app.task('node.add', (a: number, b: number) => a + b)
    app.task('node.greet', (name: string, kw?: { greeting?: string; punct?: string }) => `${kw?.greeting ?? 'Hello'}, ${name}${kw?.punct ?? ''}`)
    app.task('node.typeError', (text: string) => {
      throw new TypeError(text)
    })
    app.task('node.quota', (user: string) => {
      throw new QuotaError(`over quota: ${user}`)
    })
    app.task('node.flaky', { bind: true }, (self: Task) => {
      if (self.request.retries === 0) throw self.retry({ countdown: 100 })
      return `ran ${String(self.request.retries + 1)} times`
    })
    app.task('node.context', { bind: true }, (self: Task) => {
      const r = self.request
      return {
        id: r.id,
        retries: r.retries,
        parentId: r.parentId,
        rootId: r.rootId,
        headers: r.headers,
        queue: r.deliveryInfo.queue,
        early: r.eta !== null && Date.now() < r.eta,
        eta: r.eta !== null,
        expires: r.expires !== null,
      }
    })
    apps.push(app)
    return app
  }

  async function forget(prefix: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) keys.add(`celery-task-meta-${id}`)
    for (const key of await redis.keys(`${prefix}::*`)) keys.add(key)
  }

  it('serves send_task and apply_async: values, kwargs, exceptions Python raises by class, a retry; every message acked', async () => {
    const { queue, prefix } = queueOf()
    const app = serving(queue, prefix)
    await app.start()
    const caller = startPythonCaller(python!, URL, [
      { name: 'node.add', args: [2, 3], queue },
      { name: 'node.add', args: [40, 2], queue, how: 'apply_async' },
      { name: 'node.greet', args: ['Ada'], kwargs: { greeting: 'Grüß dich', punct: '!' }, queue },
      { name: 'node.greet', args: ['Bob'], queue },
      { name: 'node.typeError', args: ['not a number'], queue },
      { name: 'node.quota', args: ['ada'], queue },
      { name: 'node.flaky', args: [], queue },
      { name: 'node.nope', args: [], queue },
    ])
    const ids = await caller.ids
    try {
      const outcomes = await caller.outcomes
      expect(outcomes.map((o) => o.id)).toEqual(ids)
      expect(outcomes.slice(0, 4)).toMatchObject([
        { ok: true, value: 5 },
        { ok: true, value: 42 },
        { ok: true, value: 'Grüß dich, Ada!' },
        { ok: true, value: 'Hello, Bob' },
      ])
      // A builtin class travels as builtins.TypeError: Python raises the real one.
      expect(outcomes[4]).toMatchObject({ ok: false, type: 'TypeError', module: 'builtins', args: ['not a number'], builtin: true })
      // Any other class: Python makes one of that name.
      expect(outcomes[5]).toMatchObject({ ok: false, type: 'QuotaError', args: ['over quota: ada'], builtin: false })
      // The retry went back through the queue (Celery's republish) and ran here again.
      expect(outcomes[6]).toMatchObject({ ok: true, value: 'ran 2 times' })
      // A name this app does not define: Celery's NotRegistered class (celeriac's message, where Celery's is the bare name).
      expect(outcomes[7]).toMatchObject({ ok: false, type: 'NotRegistered', module: 'celery.exceptions', args: [expect.stringContaining("'node.nope'")] })
      // Acked after the result: nothing of this queue is left in kombu's unacked hash.
      const unacked = await redis.hvals('unacked')
      expect(unacked.filter((entry) => entry.includes(queue))).toEqual([])
      expect(await redis.llen(queue)).toBe(0)
    } finally {
      await forget(prefix, ids)
    }
  })

  it('serves two messages of one task_id (a publisher that sends twice): both run, one after the other, and each is acked', async () => {
    const { queue, prefix } = queueOf()
    const app = serving(queue, prefix)
    // Long enough that the second message is taken while the first runs.
    app.task('node.nap', async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms))
      return ms
    })
    const ran: unknown[] = []
    app.events.on('task-succeeded', (e) => ran.push(e.result))
    await app.start()
    const taskId = `celeriac-p2n-twice-${randomUUID()}`
    const caller = startPythonCaller(python!, URL, [
      { name: 'node.nap', args: [300], queue, options: { task_id: taskId } },
      { name: 'node.nap', args: [100], queue, options: { task_id: taskId } },
    ])
    const ids = await caller.ids
    try {
      expect(ids).toEqual([taskId, taskId])
      await caller.outcomes
      // Each delivery settled by its own run: none left in kombu's unacked hash for its
      // visibility timeout (an hour) to hand out again.
      await vi.waitFor(
        async () => {
          expect(ran).toEqual([300, 100])
          expect((await redis.hvals('unacked')).filter((entry) => entry.includes(queue))).toEqual([])
        },
        { timeout: 10_000, interval: 50 },
      )
    } finally {
      await forget(prefix, ids)
    }
  })

  it('runs a task with its Celery request: id, parent and root, headers, countdown, expires; an expired one is revoked', async () => {
    const { queue, prefix } = queueOf()
    const app = serving(queue, prefix)
    await app.start()
    const root = randomUUID()
    const parent = randomUUID()
    const caller = startPythonCaller(python!, URL, [
      { name: 'node.context', args: [], queue, options: { root_id: root, parent_id: parent, headers: { tenant: 'acme' }, countdown: 1, expires: 60 } },
      { name: 'node.add', args: [1, 2], queue, options: { expires: -10 } },
    ])
    const ids = await caller.ids
    try {
      const [context, expired] = await caller.outcomes
      expect(context).toMatchObject({
        ok: true,
        value: { id: ids[0], retries: 0, parentId: parent, rootId: root, headers: { tenant: 'acme' }, queue, early: false, eta: true, expires: true },
      })
      expect(expired).toMatchObject({ ok: false, type: 'TaskRevokedError', module: 'celery.exceptions' })
    } finally {
      await forget(prefix, ids)
    }
  })

  it('drops what is not a protocol v2 JSON task message (as a Celery worker acks and drops it) and keeps serving', async () => {
    const { queue, prefix } = queueOf()
    const body = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64')
    const envelope = (fields: Record<string, unknown>, headers: Record<string, unknown>, bodyText: string): string =>
      JSON.stringify({
        body: bodyText,
        'content-type': 'application/json',
        headers: { lang: 'py', task: 'node.add', id: randomUUID(), ...headers },
        properties: { delivery_tag: randomUUID(), delivery_info: { exchange: '', routing_key: queue }, body_encoding: 'base64', priority: 0 },
        ...fields,
      })
    // Pushed before the app starts: taken first, then the Python caller's task.
    await redis.lpush(
      queue,
      'not json at all',
      envelope({ 'content-type': 'application/x-python-serialize' }, {}, 'gASVAAAAAAAAAAB9lC4='),
      envelope({}, {}, body([[1, 2], {}])),
      envelope({}, { task: undefined }, body([[1, 2], {}, {}])),
      envelope({}, {}, 'bm90IGpzb24='),
    )
    const app = serving(queue, prefix)
    await app.start()
    const caller = startPythonCaller(python!, URL, [{ name: 'node.add', args: [3, 4], queue }])
    try {
      expect(await caller.outcomes).toMatchObject([{ ok: true, value: 7 }])
      expect(await redis.llen(queue)).toBe(0)
      expect((await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))).toEqual([])
    } finally {
      await forget(prefix, await caller.ids)
    }
  })

  it('consumes only the queues it is given, never Celery’s default one', async () => {
    const { queue, prefix } = queueOf()
    const other = queueOf()
    const app = serving(queue, prefix, undefined, other.queue)
    await app.start()
    // The app sends to a queue it does not serve: the message waits there for someone else.
    const r = await app.sendTask('node.add', [1, 1], { queue: other.queue })
    keys.add(`celery-task-meta-${r.id}`)
    const caller = startPythonCaller(python!, URL, [{ name: 'node.add', args: [1, 2], queue }])
    try {
      expect(await caller.outcomes).toMatchObject([{ ok: true, value: 3 }])
      expect(await redis.llen(`${other.queue}\x06\x169`)).toBe(1)
    } finally {
      await forget(prefix, await caller.ids)
      await forget(other.prefix, [])
    }
  })

  it('a paused queue takes nothing from its list (what Python sends waits there) until resumed', async () => {
    const { queue, prefix } = queueOf()
    const app = serving(queue, prefix)
    let runs = 0
    app.task('node.count', () => ++runs)
    await app.start()
    await app.control.pause(queue)
    // A BRPOP that was waiting when the pause came puts back what it brings.
    const caller = startPythonCaller(python!, URL, [
      { name: 'node.count', args: [], queue },
      { name: 'node.count', args: [], queue },
    ])
    const ids = await caller.ids
    try {
      // Two BRPOP timeouts (1 s each) later, both still wait in the list, untaken.
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      expect(runs).toBe(0)
      expect(await redis.llen(queue)).toBe(2)
      expect((await redis.hvals('unacked')).filter((entry) => entry.includes(queue))).toEqual([])
      await app.control.resume(queue)
      expect((await caller.outcomes).map((o) => o.ok)).toEqual([true, true])
      expect(runs).toBe(2)
    } finally {
      await forget(prefix, ids)
    }
  })

  it('a stop gives back what the app took and never ran (prefetch: concurrency × 4), and another app serves it', async () => {
    const { queue, prefix } = queueOf()
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const first = new Celeriac({ transport: celeryTransport({ url: URL, prefix, queues: [queue] }), queues: { [queue]: { concurrency: 1 } } })
    let started = 0
    first.task('node.add', async (a: number, b: number) => {
      started++
      await gate
      return a + b
    })
    apps.push(first)
    await first.start()
    const caller = startPythonCaller(
      python!,
      URL,
      [1, 2, 3, 4, 5, 6].map((n) => ({ name: 'node.add', args: [n, 100], queue })),
    )
    const ids = await caller.ids
    try {
      const mine = async (): Promise<number> => (await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`)).length
      // One runs, three wait in the app: four taken, the other two still in the list.
      await vi.waitFor(async () => {
        expect(await mine()).toBe(4)
        expect(await redis.llen(queue)).toBe(2)
      })
      expect(started).toBe(1)
      const stopping = first.stop()
      open()
      await stopping
      // The running one finished and was acked; the three never started are back in the list.
      expect(await mine()).toBe(0)
      expect(await redis.llen(queue)).toBe(5)
      expect(started).toBe(1)
      const second = serving(queue, prefix)
      await second.start()
      expect((await caller.outcomes).map((o) => (o.ok ? o.value : o))).toEqual([101, 102, 103, 104, 105, 106])
    } finally {
      await forget(prefix, ids)
    }
  })

  it('while serving, restores every visibility timeout what a dead consumer held, never what it holds itself (real time: ~3 s)', async () => {
    const { queue, prefix } = queueOf()
    const parked = queueOf()
    const visibilityTimeout = 1_000
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const app = new Celeriac({ transport: celeryTransport({ url: URL, prefix, queues: [queue], visibilityTimeout }), queues: { [queue]: {} } })
    let slowRuns = 0
    let addRuns = 0
    app.task('node.slow', async () => {
      slowRuns++
      await gate
      return 'slow done'
    })
    app.task('node.add', (a: number, b: number) => {
      addRuns++
      return a + b
    })
    apps.push(app)
    await app.start()
    // node.add goes to a queue nobody serves: the test takes it out as a dead consumer would have.
    const caller = startPythonCaller(python!, URL, [
      { name: 'node.slow', args: [], queue },
      { name: 'node.add', args: [20, 22], queue: parked.queue },
    ])
    const ids = await caller.ids
    let tag = ''
    try {
      await vi.waitFor(() => expect(slowRuns).toBe(1))
      const heldSince = Date.now()
      const text = await vi.waitFor(async () => {
        const popped = await redis.rpop(parked.queue)
        if (popped === null) throw new Error('not sent yet')
        return popped
      })
      const envelope = JSON.parse(text) as { properties: { delivery_tag: string } }
      tag = envelope.properties.delivery_tag
      await redis
        .multi()
        .zadd('unacked_index', Date.now() / 1000 - 5, tag)
        .hset('unacked', tag, JSON.stringify([envelope, '', queue]))
        .exec()
      // Restored by a periodic pass (not the one at start, which ran before it was there) and run.
      await vi.waitFor(() => expect(addRuns).toBe(1), { timeout: 5_000 })
      // Real time is the point: past the visibility timeout and another pass, node.slow is still only held here.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, heldSince + 2.5 * visibilityTimeout - Date.now())))
      expect(slowRuns).toBe(1)
      const held = (await redis.hvals('unacked')).filter((entry) => entry.includes(`"${queue}"`))
      expect(held.map((entry) => (JSON.parse(entry) as [{ headers: { task: string } }])[0].headers.task)).toEqual(['node.slow'])
      open()
      expect(await caller.outcomes).toMatchObject([
        { ok: true, value: 'slow done' },
        { ok: true, value: 42 },
      ])
      expect(slowRuns).toBe(1)
    } finally {
      open()
      if (tag !== '') await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
      await forget(prefix, ids)
    }
  })

  it('an acksLate task (the worker’s option, as in Celery) whose app stopped mid-run is run again by the next app, not failed as lost', async () => {
    const { queue, prefix } = queueOf()
    const never = new Promise<never>(() => undefined)
    const dying = new Celeriac({ transport: celeryTransport({ url: URL, prefix, queues: [queue] }), queues: { [queue]: {} } })
    let started = 0
    dying.task('node.late', { acksLate: true }, async () => {
      started++
      return never
    })
    apps.push(dying)
    await dying.start()
    const caller = startPythonCaller(python!, URL, [{ name: 'node.late', args: [], queue }])
    const ids = await caller.ids
    try {
      await vi.waitFor(() => expect(started).toBe(1))
      // The run never ends: the stop gives up on it, and the consumer puts its message back, redelivered.
      await dying.stop({ timeout: 10 })
      const next = new Celeriac({ transport: celeryTransport({ url: URL, prefix, queues: [queue] }), queues: { [queue]: {} } })
      next.task('node.late', { acksLate: true }, () => 'ran again')
      apps.push(next)
      await next.start()
      expect(await caller.outcomes).toEqual([{ id: ids[0], ok: true, value: 'ran again' }])
    } finally {
      await forget(prefix, ids)
    }
  })

  it('puts back at start a message whose consumer died holding it, past the visibility timeout (kombu’s restore), and runs it', async () => {
    const { queue, prefix } = queueOf()
    const caller = startPythonCaller(python!, URL, [{ name: 'node.add', args: [20, 22], queue }])
    const [id] = await caller.ids
    keys.add(`celery-task-meta-${id!}`)
    // A consumer that died after taking it: popped, recorded in unacked as kombu records it, 5 s ago.
    const text = await vi.waitFor(async () => {
      const popped = await redis.rpop(queue)
      if (popped === null) throw new Error('not sent yet')
      return popped
    })
    const envelope = JSON.parse(text) as { properties: { delivery_tag: string } }
    const tag = envelope.properties.delivery_tag
    await redis
      .multi()
      .zadd('unacked_index', Date.now() / 1000 - 5, tag)
      .hset('unacked', tag, JSON.stringify([envelope, '', queue]))
      .exec()
    try {
      const app = serving(queue, prefix, 2_000)
      await app.start()
      expect(await caller.outcomes).toMatchObject([{ ok: true, value: 42 }])
      expect(await redis.hexists('unacked', tag)).toBe(0)
      expect(await redis.zscore('unacked_index', tag)).toBeNull()
    } finally {
      await redis.multi().hdel('unacked', tag).zrem('unacked_index', tag).exec()
      await forget(prefix, [id!])
    }
  })
})
