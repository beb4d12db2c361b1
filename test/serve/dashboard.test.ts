/**
 * What the endpoint adds for the dashboard: the page and its script at `/dashboard/`, without
 * the token and with strict headers (`dashboard: false` leaves them out), and
 * `POST /v1/control/retry`, which sends a failed or revoked task again with a new id.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../package/built.js'
import { TOKEN, served } from './harness.js'

let s: Awaited<ReturnType<typeof served>>
afterEach(async () => s.stop())

describe('the dashboard page', () => {
  // The page script the endpoint serves is dist/dashboard/page.js: the package's build, fresh.
  beforeAll(() => ensureBuilt(), 180_000)

  it('serves the page and its script without the token, with a CSP to this origin only and no CORS', async () => {
    s = await served()
    const page = await fetch(`${s.endpoint.url}/dashboard/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'")
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.headers.get('access-control-allow-origin')).toBeNull()
    const html = await page.text()
    expect(html).toContain('<script type="module" src="./page.js"></script>')
    expect(html).not.toContain(TOKEN)
    const script = await fetch(`${s.endpoint.url}/dashboard/page.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await script.text()).length).toBeGreaterThan(10_000)
    const bare = await fetch(`${s.endpoint.url}/dashboard`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/dashboard/'])
    expect((await fetch(`${s.endpoint.url}/dashboard/secrets.json`)).status).toBe(404)
    expect((await fetch(`${s.endpoint.url}/dashboard/`, { method: 'POST' })).status).toBe(405)
    // The API still wants the token.
    expect((await s.call('GET', '/v1/inspect/queues', undefined, null)).status).toBe(401)
  })

  it('is not served with dashboard: false (a request without the token is 401 there too)', async () => {
    s = await served({ dashboard: false })
    expect((await fetch(`${s.endpoint.url}/dashboard/`)).status).toBe(401)
  })
})

describe('POST /v1/control/retry', () => {
  it('sends a failed task again with a new id, from the send an event stream saw', async () => {
    s = await served()
    const stream = new AbortController()
    const events = await fetch(`${s.endpoint.url}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: stream.signal })
    expect(events.status).toBe(200)
    try {
      const failed = await s.tasks.fail.delay()
      await s.app.whenIdle()
      expect(await failed.state()).toBe('FAILURE')
      const retried = await s.call('POST', '/v1/control/retry', { id: failed.id })
      expect(retried.status).toBe(200)
      const { id } = retried.body as { ok: boolean; id: string }
      expect(id).not.toBe(failed.id)
      await s.app.whenIdle()
      const status = await s.app.AsyncResult(id).status()
      expect([status.task, status.state]).toEqual(['serve.fail', 'FAILURE'])

      const done = await s.tasks.add.delay(1, 2)
      await s.app.whenIdle()
      const refused = await s.call('POST', '/v1/control/retry', { id: done.id })
      expect(refused.status).toBe(422)
      expect(refused.body).toEqual({ error: { code: 'CONFIG', message: expect.stringContaining('only a FAILURE or REVOKED task') } })
    } finally {
      stream.abort()
    }
  })

  it('refuses a task whose send it did not see, saying why', async () => {
    s = await served()
    const failed = await s.tasks.fail.delay()
    await s.app.whenIdle()
    const refused = await s.call('POST', '/v1/control/retry', { id: failed.id })
    expect(refused.status).toBe(422)
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/not known here .* task-sent event/)
    expect((await s.call('POST', '/v1/control/retry', {})).status).toBe(400)
  })
})
