/**
 * Node → Python on Celery's own wire: a producer-only celeriac app on `celeryTransport` sends
 * tasks by name to a real Python Celery worker (Debian's python3-celery, 5.2) and reads the
 * results it stores in Celery's Redis backend. Real time: the worker is another process.
 * Each run has its own queue, key prefix and ids on Redis db 11, and deletes its keys after.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { celeryTransport, kwargs } from '../../src/celery/index.js'
import {
  type AsyncResult,
  Celeriac,
  ChordError,
  type GroupResult,
  ConfigError,
  SerializationError,
  TaskError,
  TaskRevokedError,
  chain,
  chord,
  group,
  signature,
} from '../../src/index.js'
import { celeryInterop, type PythonWorker, pythonResult, startPythonWorker } from './python-worker.js'

const DB = 11
const URL = `redis://127.0.0.1:6379/${String(DB)}`
const { up, python, skipWhy } = await celeryInterop()
const WAIT = { timeout: 20_000 }

describe('celeryTransport options', () => {
  it('refuses what is not a Redis URL, with a ConfigError saying what to pass', () => {
    expect(() => celeryTransport({ url: 'amqp://guest@localhost//' })).toThrow(ConfigError)
    expect(() => celeryTransport({ url: 'amqp://guest@localhost//' })).toThrow(/only Redis/)
    expect(() => celeryTransport({ url: 'not a url' })).toThrow(/is not a URL/)
    expect(() => celeryTransport({ url: 'redis://127.0.0.1:6379/zero' })).toThrow(/database number/)
    expect(() => celeryTransport({ url: URL, resultExpires: 10 })).toThrow(/at least 1000/)
    expect(() => celeryTransport({ url: URL, prefix: 'celery-mine' })).toThrow(/Celery's own keys/)
    expect(() => celeryTransport({ url: URL, queues: 'node' as never })).toThrow(/array of queue names/)
    expect(() => celeryTransport({ url: URL, queues: [''] })).toThrow(/array of queue names/)
    expect(() => celeryTransport({ url: URL, visibilityTimeout: 5 })).toThrow(/visibilityTimeout/)
    expect(() => celeryTransport(undefined as never)).toThrow(ConfigError)
  })
})

describe.skipIf(!up)(`celeryTransport without Python${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  it('an app without `queues` consumes nothing, not even the queues it sends to, and logs no refusal', async () => {
    const prefix = `celeriac-test-${randomUUID().slice(0, 8)}`
    const app = new Celeriac({ transport: celeryTransport({ url: URL, prefix }) })
    // A consuming app sends only the names it knows (its own check, whatever the transport).
    app.task('tasks.add', (a: number, b: number) => a + b)
    const logs: string[] = []
    app.events.on('log', (event) => logs.push(event.text))
    await app.start()
    const redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
    const queue = `${prefix}-q`
    // celeriac's default priority (0) is Celery's 9: the queue's last list.
    const list = `${queue}\x06\x169`
    try {
      const r = await app.sendTask('tasks.add', [1, 2], { queue })
      // Stopped, the app has let go of every queue: the message is still there, for Python workers.
      await app.stop()
      const [text] = await redis.lrange(list, 0, -1)
      expect(JSON.parse(text!)).toMatchObject({ headers: { id: r.id, task: 'tasks.add' }, properties: { priority: 9 } })
      expect(logs.join('\n')).not.toMatch(/could not consume/)
    } finally {
      await app.stop()
      await redis.del(list, `_kombu.binding.${queue}`, ...(await redis.keys(`${prefix}::*`)))
      redis.disconnect()
    }
  })
})

describe.skipIf(skipWhy !== '')(`Node → Python over Celery's wire${skipWhy}`, () => {
  const run = randomUUID().slice(0, 8)
  const queue = `celeriac-test-${run}`
  const prefix = `celeriac-test-${run}`
  const sent: string[] = []
  const gates: string[] = []
  let worker: PythonWorker
  let app: Celeriac
  let redis: Redis

  const send = async <R = unknown>(name: string, args: unknown[], options: Parameters<Celeriac['sendTask']>[2] = {}) => {
    const r = await app.sendTask<R>(name, args, { queue, ...options })
    sent.push(r.id)
    return r
  }
  /** A chord's body, header members and Celery's chord keys, to delete after. */
  const trackChord = (r: AsyncResult<unknown>) => {
    const header = r.parent as unknown as GroupResult<unknown[]>
    sent.push(r.id, ...header.results.map((m) => m.id))
    gates.push(...['s', 'j', 't'].map((k) => `celery-taskset-meta-${header.id}.${k}`))
  }
  const gate = (what: string) => {
    const key = `${prefix}:gate:${what}`
    gates.push(key)
    return key
  }
  /** Holds the solo worker with a blocker task until the returned function opens the gate. */
  const holdWorker = async () => {
    const started = gate(`started-${randomUUID()}`)
    const release = gate(`release-${randomUUID()}`)
    const blocker = await send('tasks.blocker', [started, release])
    await vi.waitFor(async () => expect(await redis.get(started)).toBe('1'), WAIT)
    return async () => {
      await redis.set(release, '1', 'EX', 300)
      expect(await blocker.get(WAIT)).toBe('released')
    }
  }

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
    worker = await startPythonWorker(python!, URL, queue)
    app = new Celeriac({ transport: celeryTransport({ url: URL, prefix }), consume: false })
    await app.start()
  }, 60_000)

  // A failure on the Python side shows only in its log: print the end of it with the failure.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.log(`Python worker log (end):\n${worker?.log().slice(-4000) ?? ''}`)
  })

  afterAll(async () => {
    await app?.stop()
    await worker?.stop()
    const keys = [
      ...sent.map((id) => `celery-task-meta-${id}`),
      ...gates,
      `_kombu.binding.${queue}`,
      queue,
      ...[3, 6, 9].map((s) => `${queue}\x06\x16${String(s)}`),
    ]
    for (let cursor = '0'; ; ) {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      keys.push(...found)
      cursor = next
      if (cursor === '0') break
    }
    await redis.del(...keys)
    redis.disconnect()
  }, 30_000)

  it('runs a task by name with args and reads its result from the backend', async () => {
    const r = await send<number>('tasks.add', [2, 3])
    await expect(r.get(WAIT)).resolves.toBe(5)
    expect(await r.state()).toBe('SUCCESS')
    // Stored as Celery stores it, with its TTL.
    const meta = JSON.parse((await redis.get(`celery-task-meta-${r.id}`))!) as { status: string; result: number }
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 5, task_id: r.id })
    // Read again after it is stored (GET, no publish to hear) by a fresh handle.
    await expect(app.AsyncResult<number>(r.id).get(WAIT)).resolves.toBe(5)
  })

  it('sends kwargs and UTF-8 (accents, an astral emoji) both ways', async () => {
    const text = 'é€ß 🙂 日本'
    const r = await send('tasks.echo', [text, 1.5, null, [true], kwargs({ who: 'Zoë 🙂', n: { deep: [1, 2] } })])
    await expect(r.get(WAIT)).resolves.toEqual({ args: [text, 1.5, null, [true]], kwargs: { who: 'Zoë 🙂', n: { deep: [1, 2] } } })
  })

  it('a task expired when the worker takes it ends REVOKED, read as TaskRevokedError', async () => {
    const release = await holdWorker()
    const r = await send('tasks.add', [1, 1], { expires: 20 })
    // Real time is the point: the expiry must pass while the worker is busy.
    await new Promise((resolve) => setTimeout(resolve, 50))
    await release()
    const error = await r.get(WAIT).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRevokedError)
    expect(await r.state()).toBe('REVOKED')
  })

  it("keeps celeriac's priority (higher first) on kombu's inverted Redis priority lists", async () => {
    const release = await holdWorker()
    const order = gate(`order-${randomUUID()}`)
    const low = await send('tasks.record', [order, 'low'], { priority: 0 })
    const high = await send('tasks.record', [order, 'high'], { priority: 9 })
    const mid = await send('tasks.record', [order, 'mid'], { priority: 5 })
    // celeriac 9 → Celery 0 (the bare list), 5 → 4 (step 3), 0 → 9 (step 9).
    expect([await redis.llen(queue), await redis.llen(`${queue}\x06\x163`), await redis.llen(`${queue}\x06\x169`)]).toEqual([1, 1, 1])
    await release()
    await Promise.all([low.get(WAIT), high.get(WAIT), mid.get(WAIT)])
    expect(await redis.lrange(order, 0, -1)).toEqual(['high', 'mid', 'low'])
  })

  it('a Python exception rejects with an error keeping its class name, arguments and module', async () => {
    const r = await send('tasks.fail', ['bad thing', 42])
    const error = (await r.get(WAIT).catch((e: unknown) => e)) as TaskError & { args: unknown; module: unknown }
    expect(error).toBeInstanceOf(TaskError)
    expect(error.originalName).toBe('CustomError')
    expect(error.args).toEqual(['bad thing', 42])
    expect(error.module).toBe('tasks')
    expect(await r.state()).toBe('FAILURE')
    expect((await r.status()).traceback).toMatch(/CustomError/)

    const builtin = await send('tasks.fail_builtin', ['nope'])
    const valueError = (await builtin.get(WAIT).catch((e: unknown) => e)) as TaskError & { module: unknown }
    expect(valueError).toMatchObject({ originalName: 'ValueError', message: 'nope', module: 'builtins' })
    await expect(builtin.get({ ...WAIT, propagate: false })).resolves.toBeInstanceOf(TaskError)
  })

  it('reads PROGRESS meta a Python task stores with update_state', async () => {
    const open = gate(`progress-${randomUUID()}`)
    const r = await send<string>('tasks.progress', [3, open])
    await vi.waitFor(async () => expect(await r.state()).toBe('PROGRESS'), WAIT)
    expect(await r.info()).toEqual({ current: 1, total: 3 })
    await redis.set(open, '1', 'EX', 300)
    await expect(r.get(WAIT)).resolves.toBe('done')
  })

  it('a revoke takes a waiting task out of its queue and stores REVOKED where Python reads it', async () => {
    const release = await holdWorker()
    const r = await send('tasks.add', [4, 4], { priority: 9 })
    expect(await redis.llen(queue)).toBe(1)
    await app.control.revoke(r.id)
    expect(await redis.llen(queue)).toBe(0)
    await release()
    await expect(r.get(WAIT)).rejects.toBeInstanceOf(TaskRevokedError)
    const seen = pythonResult(python!, URL, r.id)
    // Celery's own class, not one made up from the name.
    expect(seen).toMatchObject({ state: 'REVOKED', module: 'celery.exceptions' })
    expect(seen.result).toMatch(/^TaskRevokedError\(/)
  })

  it('sends a chain that Python workers run step by step, parents and children as Celery links them', async () => {
    const add = (...args: unknown[]) => signature<number>('tasks.add', { args, options: { queue } })
    const r = await app.send(chain(add(2, 2), add(4), signature<number>('tasks.add', { args: [1, 10], options: { queue }, immutable: true }), add(8)))
    const ids = [r.parent!.parent!.parent!.id, r.parent!.parent!.id, r.parent!.id, r.id]
    sent.push(...ids)
    // The last step's args have the immutable step's 11 prepended: (2+2)+4 = 8 is dropped there.
    await expect(r.get(WAIT)).resolves.toBe(19)
    await expect(r.parent!.get(WAIT)).resolves.toBe(11)
    await expect(r.parent!.parent!.get(WAIT)).resolves.toBe(8)
    // As a Python worker links them: each step's parent is the one before, and the first is the root.
    for (let i = 1; i < ids.length; i++) {
      const meta = JSON.parse((await redis.get(`celery-task-meta-${ids[i]!}`))!) as { parent_id: string }
      expect(meta.parent_id).toBe(ids[i - 1])
      expect((await app.AsyncResult(ids[i - 1]!).status()).children).toEqual([ids[i]])
    }
  })

  it('a chain whose step fails in Python rejects with that error, and its later steps never run', async () => {
    const order = gate(`chain-${randomUUID()}`)
    const r = await app.send(
      chain(
        signature('tasks.record', { args: [order, 'first'], options: { queue } }),
        signature('tasks.fail', { args: ['mid', 7], options: { queue }, immutable: true }),
        signature('tasks.record', { args: [order, 'never'], options: { queue }, immutable: true }),
      ),
    )
    sent.push(r.id, r.parent!.id, r.parent!.parent!.id)
    const error = (await r.get(WAIT).catch((e: unknown) => e)) as TaskError
    expect(error).toBeInstanceOf(TaskError)
    expect(error.originalName).toBe('CustomError')
    // Celery marks the chain's later steps failed with the same error.
    expect(await r.state()).toBe('FAILURE')
    expect(await redis.lrange(order, 0, -1)).toEqual(['first'])
  })

  it('sends a group whose members Python runs, results in member order', async () => {
    const g = await app.send(group([1, 2, 3].map((i) => signature<number>('tasks.add', { args: [i, i], options: { queue } }))))
    sent.push(...g.results.map((r) => r.id))
    await expect(g.get(WAIT)).resolves.toEqual([2, 4, 6])
    const meta = JSON.parse((await redis.get(`celery-task-meta-${g.results[1]!.id}`))!) as { group_id: string }
    expect(meta.group_id).toBe(g.id)
  })

  it("sends a chord that Python workers count with Celery's own keys and whose body they send", async () => {
    const header = [1, 2, 3].map((i) => signature<number>('tasks.add', { args: [i, 10], options: { queue } }))
    const r = await app.send(chord(header, signature<number>('tasks.xsum', { args: [kwargs({ offset: 100 })], options: { queue } })))
    trackChord(r)
    await expect(r.get(WAIT)).resolves.toBe(11 + 12 + 13 + 100)
    // The worker that counted the last member deleted the chord's keys (size and members).
    const gid = r.parent!.id
    const members = (r.parent as unknown as GroupResult<number[]>).results.map((m) => m.id)
    expect(JSON.parse((await redis.get(`celery-task-meta-${members[0]!}`))!)).toMatchObject({ group_id: gid })
    expect(await redis.exists(`celery-taskset-meta-${gid}.s`, `celery-taskset-meta-${gid}.j`)).toBe(0)
    // celeriac's own record of the chord (read once, to put its body in the header's embed)
    // expires as Celery's chord keys do, after the result TTL (one day by default).
    const ttl = await redis.pttl(`${prefix}::chords:${r.id}`)
    expect(ttl).toBeGreaterThan(86_400_000 - 60_000)
    expect(ttl).toBeLessThanOrEqual(86_400_000)
  })

  it('a chord with a member failing in Python ends its body with ChordError', async () => {
    const header = [signature('tasks.add', { args: [1, 1], options: { queue } }), signature('tasks.fail', { args: ['member', 3], options: { queue } })]
    const r = await app.send(chord(header, signature('tasks.xsum', { options: { queue } })))
    trackChord(r)
    const body = app.AsyncResult(r.id)
    await expect(body.get(WAIT)).rejects.toBeInstanceOf(ChordError)
    await expect(body.get(WAIT)).rejects.toThrow(/CustomError/)
  })

  it('sends link and linkError, which the Python worker calls with the result or the failed id', async () => {
    const linked = randomUUID()
    const ok = await send('tasks.add', [2, 3], { link: signature('tasks.add', { args: [10], options: { queue, taskId: linked } }) })
    sent.push(linked)
    await expect(ok.get(WAIT)).resolves.toBe(5)
    await expect(app.AsyncResult(linked).get(WAIT)).resolves.toBe(15)

    const failedIds = gate(`errback-${randomUUID()}`)
    const errbackId = randomUUID()
    const bad = await send('tasks.fail', ['linked', 1], {
      linkError: signature('tasks.errback', { args: [kwargs({ list_key: failedIds })], options: { queue, taskId: errbackId } }),
    })
    sent.push(errbackId)
    await expect(bad.get(WAIT)).rejects.toBeInstanceOf(TaskError)
    await expect(app.AsyncResult(errbackId).get(WAIT)).resolves.toBe(bad.id)
    expect(await redis.lrange(failedIds, 0, -1)).toEqual([bad.id])
  })

  it('a Python retry republishes the same id, and get() waits for the run after it', async () => {
    const r = await send<number>('tasks.flaky', [])
    await expect(r.get(WAIT)).resolves.toBe(1)
    expect(JSON.parse((await redis.get(`celery-task-meta-${r.id}`))!)).toMatchObject({ status: 'SUCCESS', parent_id: r.id })
  })

  it('an unknown task name gets the NotRegistered failure the Python worker stores', async () => {
    const r = await send('tasks.nope', [])
    const error = (await r.get(WAIT).catch((e: unknown) => e)) as Error & { originalName?: string }
    expect(error.name === 'NotRegistered' || error.originalName === 'NotRegistered').toBe(true)
  })

  // Last of the worker's tests: after an ETA task, Celery 5.2's solo worker took 4-9 s to take
  // the next message once a gate task freed it (see NOTES).
  it('sends countdown (eta), expires, headers and time limits that the Python request sees', async () => {
    const sentAt = Date.now()
    const r = await send<Record<string, unknown>>('tasks.request', [], {
      countdown: 1_500,
      expires: 60_000,
      headers: { x_custom: 'from node' },
      timeLimit: 10_000,
      softTimeLimit: 5_000,
    })
    const request = await r.get(WAIT)
    expect(request).toMatchObject({
      id: r.id,
      task: 'tasks.request',
      retries: 0,
      root_id: r.id,
      parent_id: null,
      routing_key: queue,
      custom: 'from node',
      timelimit: [10, 5],
    })
    const eta = Date.parse(request.eta as string)
    expect(eta).toBeGreaterThanOrEqual(sentAt + 1_500)
    expect(eta).toBeLessThan(sentAt + 2_500)
    // It waited for its eta (same machine, one clock). Celery 5.2's worker runs an ETA task at
    // the whole second before its eta (ran_at was x.0016 s in every run here), not after it.
    expect((request.ran_at as number) * 1000).toBeGreaterThanOrEqual(Math.floor(eta / 1000) * 1000)
    expect(Date.parse(request.expires as string)).toBeGreaterThanOrEqual(sentAt + 60_000)
  })

  it('refuses what Python cannot read, at the send, and sends nothing', async () => {
    const outbox = async () => new Set(await redis.keys(`${prefix}::messages:*`))
    const before = await outbox()
    await expect(send('tasks.echo', [new Map([[1, 2]])])).rejects.toThrow(SerializationError)
    const add = (...args: number[]) => signature('tasks.add', { args, options: { queue } })
    await expect(app.send(chord([chain(add(1, 1), add(2)), add(3, 3)], signature('tasks.xsum', { options: { queue } })))).rejects.toThrow(
      /a chain inside a chord header .* is not on celeryTransport's wire yet/,
    )
    expect(await redis.llen(queue)).toBe(0)
    // Nor kept in celeriac's outbox, to be sent again later.
    expect([...(await outbox())].filter((key) => !before.has(key))).toEqual([])
  })
})
