/**
 * The control endpoint's JSON routes (`serve(app, { token })`): a request without the token is
 * 401; the inspect routes answer what `app.inspect` does; control revokes, pauses, resumes and
 * purges; results read the stored record (those three on memory and on file storage); bad
 * requests are 4xx with `{ error: { code, message } }`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, states } from '../../src/node.js'
import { SECOND, STORAGES, TOKEN, served } from './harness.js'

let s: Awaited<ReturnType<typeof served>>
afterEach(async () => s.stop())

/** The value as JSON carries it (what a client of the endpoint gets for `app.inspect`'s answer). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

describe('auth', () => {
  it('refuses a request without the token, or with a wrong one, on every path', async () => {
    s = await served()
    for (const [method, path] of [
      ['GET', '/v1/inspect/active'],
      ['POST', '/v1/control/purge'],
      ['GET', '/nowhere'],
      ['GET', '/v1/events'],
    ] as const) {
      const none = await s.call(method, path, undefined, null)
      expect(none.status).toBe(401)
      expect(none.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Authorization: Bearer') } })
      expect(none.headers.get('www-authenticate')).toBe('Bearer')
      expect((await s.call(method, path, undefined, `${TOKEN}x`)).status).toBe(401)
    }
    expect((await s.call('GET', '/v1/inspect/active', undefined, TOKEN.slice(0, -1))).status).toBe(401)
    expect((await s.call('GET', '/v1/inspect/active')).status).toBe(200)
  })

  it('listens on 127.0.0.1 only, and wants a token of 16 characters or more', async () => {
    s = await served()
    expect(s.endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const { serve } = await import('../../src/node.js')
    await expect(serve(s.app, { token: 'short' })).rejects.toThrow(ConfigError)
    await expect(serve(s.app, { token: TOKEN, host: '0.0.0.0' })).rejects.toThrow(/loopback/)
    await expect(serve(s.app, { token: TOKEN, socket: '/tmp/x.sock', port: 1 })).rejects.toThrow(ConfigError)
  })
})

// What reads or changes the app's state: on memory and on file storage.
describe.each(STORAGES)('on %s storage', (storage) => {
  describe('inspect', () => {
    it('each inspect route answers what app.inspect returns', async () => {
      s = await served({}, storage)
      const running = await s.tasks.nap.delay(10 * SECOND)
      await s.tasks.nap.delay(SECOND) // waits for the slot of `default` (concurrency 1)
      await s.tasks.add.applyAsync([1, 2], { countdown: 60 * SECOND })
      await s.app.control.revoke('gone-1')
      await s.app.control.pause('other')
      await s.clock.advance(0)
      expect(s.app.inspect.active().map((t) => t.id)).toEqual([running.id])
      for (const [path, read] of [
        ['active', () => s.app.inspect.active()],
        ['scheduled', () => s.app.inspect.scheduled()],
        ['reserved', () => s.app.inspect.reserved()],
        ['revoked', () => s.app.inspect.revoked()],
        ['stats', () => s.app.inspect.stats()],
        ['queues', () => s.app.inspect.queues()],
      ] as const) {
        const { status, body } = await s.call('GET', `/v1/inspect/${path}`)
        expect(status).toBe(200)
        expect(body).toEqual(asJson(read()))
        expect(body).not.toEqual([]) // each has something to show here, so the comparison means something
      }
      await s.app.control.resume('other')
      await s.clock.runAll()
      expect(await running.get()).toBe(10 * SECOND)
    })

    it('lists the schedules as app.schedules.list() does', async () => {
      s = await served({}, storage)
      await s.app.schedules.upsert('tick', { every: 60 * SECOND }, s.tasks.add.s(1, 1))
      const { status, body } = await s.call('GET', '/v1/schedules')
      expect(status).toBe(200)
      expect(body).toEqual(asJson(await s.app.schedules.list()))
      expect(body).toMatchObject([{ id: 'tick', every: 60 * SECOND, count: 0 }])
    })
  })

  describe('control', () => {
    it('revoke: a task waiting on its countdown ends REVOKED', async () => {
      s = await served({}, storage)
      const r = await s.tasks.add.applyAsync([2, 2], { countdown: 60 * SECOND })
      const { status, body } = await s.call('POST', '/v1/control/revoke', { ids: r.id })
      expect([status, body]).toEqual([200, { ok: true, ids: [r.id] }])
      await s.clock.runAll()
      expect(await r.state()).toBe(states.REVOKED)
      expect((await s.call('GET', `/v1/results/${r.id}`)).body).toMatchObject({ id: r.id, state: 'REVOKED' })
      expect((await s.call('POST', '/v1/control/revoke', { ids: ['a', 'b'], terminate: true })).body).toEqual({ ok: true, ids: ['a', 'b'] })
      expect(s.app.inspect.revoked()).toEqual(expect.arrayContaining([r.id, 'a', 'b']))
    })

    it('pause holds a queue, resume runs what waited', async () => {
      s = await served({}, storage)
      expect(await s.call('POST', '/v1/control/pause', { queue: 'default' })).toMatchObject({ status: 200, body: { ok: true } })
      const r = await s.tasks.add.delay(1, 2)
      await s.clock.runAll()
      expect(await r.state()).toBe(states.PENDING)
      expect((await s.call('GET', '/v1/inspect/queues')).body).toContainEqual(expect.objectContaining({ name: 'default', paused: true, reserved: 1 }))
      expect(await s.call('POST', '/v1/control/resume', { queue: 'default' })).toMatchObject({ status: 200, body: { ok: true } })
      await s.clock.runAll()
      expect(await r.get()).toBe(3)
    })

    it('purge drops waiting messages and says how many', async () => {
      s = await served({}, storage)
      await s.app.control.pause('default')
      const waiting = [await s.tasks.add.delay(1, 1), await s.tasks.add.delay(2, 2)]
      const elsewhere = await s.tasks.add.applyAsync([3, 3], { queue: 'other', countdown: SECOND })
      expect((await s.call('POST', '/v1/control/purge', { queue: 'default' })).body).toEqual({ ok: true, purged: 2 })
      expect((await s.call('POST', '/v1/control/purge')).body).toEqual({ ok: true, purged: 1 })
      await s.app.control.resume('default')
      await s.clock.runAll()
      for (const r of [...waiting, elsewhere]) expect(await r.state()).toBe(states.PENDING)
      expect(s.app.inspect.reserved()).toEqual([])
    })
  })

  describe('results', () => {
    it('gives the record of a finished task, its error as { name, message }, and PENDING for an unknown id', async () => {
      s = await served({}, storage)
      const ok = await s.tasks.add.delay(20, 22)
      const bad = await s.tasks.fail.delay()
      await s.clock.runAll()
      const done = await s.call('GET', `/v1/results/${ok.id}`)
      expect(done.status).toBe(200)
      expect(done.body).toEqual({ ...(asJson(await ok.status()) as object), result: 42 })
      expect(done.body).toMatchObject({ id: ok.id, task: 'serve.add', state: 'SUCCESS', dateDone: new Date(s.clock.now()).toISOString() })
      expect((await s.call('GET', `/v1/results/${bad.id}`)).body).toMatchObject({
        state: 'FAILURE',
        result: { name: 'TypeError', message: 'no such thing' },
        traceback: expect.stringContaining('no such thing'),
      })
      const unknown = await s.call('GET', `/v1/results/${encodeURIComponent('no such/id')}`)
      expect(unknown).toMatchObject({ status: 200, body: { id: 'no such/id', state: 'PENDING', result: null, dateDone: null } })
    })
  })
})

describe('bad requests', () => {
  it('400 for malformed JSON, a body that is not an object, missing or wrong fields', async () => {
    s = await served()
    const cases: Array<[string, unknown]> = [
      ['/v1/control/revoke', '{"ids": '],
      ['/v1/control/revoke', '[1]'],
      ['/v1/control/revoke', {}],
      ['/v1/control/revoke', { ids: [] }],
      ['/v1/control/revoke', { ids: [1] }],
      ['/v1/control/revoke', { ids: 'x', terminate: 'yes' }],
      ['/v1/control/revoke', { ids: 'x', termniate: true }],
      ['/v1/control/pause', {}],
      ['/v1/control/resume', { queue: '' }],
      ['/v1/control/purge', { queue: 7 }],
    ]
    for (const [path, body] of cases) {
      const res = await s.call('POST', path, body)
      expect([path, body, res.status]).toEqual([path, body, 400])
      expect(res.body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } })
    }
    expect(s.app.inspect.revoked()).toEqual([])
  })

  it('404 for an unknown path, 405 with Allow for a wrong method, 413 for a body over 64 KiB, 422 for what the app refuses', async () => {
    s = await served()
    expect(await s.call('GET', '/v1/inspect/nothing')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } })
    expect(await s.call('GET', '/v1/results/')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } })
    const wrong = await s.call('POST', '/v1/inspect/active', {})
    expect(wrong).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } })
    expect(wrong.headers.get('allow')).toBe('GET')
    expect((await s.call('GET', '/v1/control/revoke')).headers.get('allow')).toBe('POST')
    expect(await s.call('POST', '/v1/control/revoke', { ids: 'x'.repeat(70_000) })).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    })
    // A queue the app does not declare: the app's ConfigError, as a 422 with its code.
    expect(await s.call('POST', '/v1/control/pause', { queue: 'undeclared' })).toMatchObject({
      status: 422,
      body: { error: { code: 'CONFIG', message: expect.stringContaining('undeclared') } },
    })
  })
})
