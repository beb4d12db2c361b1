/**
 * The event stream (`GET /v1/events`, server-sent events): a client hears the events of tasks run
 * after it connects; one that stops reading loses events, counted, while the app goes on, and
 * hears how many it lost when it reads again; `close()` ends every stream.
 */
import { get } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { afterEach, expect, it, vi } from 'vitest'
import { STORAGES, TOKEN, parseFrames, served } from './harness.js'
import type { Frame } from './harness.js'

let s: Awaited<ReturnType<typeof served>>
afterEach(async () => s.stop())

/** Connects with fetch; `until` reads frames until one matches. */
async function subscribe(url: string) {
  const res = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/event-stream')
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  return {
    async until(done: (frames: Frame[]) => boolean): Promise<Frame[]> {
      while (!done(parseFrames(text))) {
        const { value, done: ended } = await reader.read()
        if (ended) throw new Error(`the stream ended; got ${text}`)
        text += value
      }
      return parseFrames(text)
    },
    /** Resolves once the server ends the stream. */
    async ended(): Promise<void> {
      for (;;) if ((await reader.read()).done) return
    },
  }
}

it.each(STORAGES)(
  'a client hears task-sent, task-started and task-succeeded of a task run after it connects; errors as { name, message } (%s storage)',
  async (storage) => {
    s = await served({}, storage)
    const before = await s.tasks.add.delay(0, 0)
    await s.clock.runAll()
    const stream = await subscribe(s.endpoint.url)
    expect(s.endpoint.stats().clients).toBe(1)
    const r = await s.tasks.add.delay(2, 3)
    const bad = await s.tasks.fail.delay()
    await s.clock.runAll()
    const frames = await stream.until((f) => f.some((x) => x.event === 'task-failed'))
    const ids = new Set(frames.map((f) => (f.data as { id: string }).id))
    expect(ids.has(before.id)).toBe(false)
    const mine = frames.filter((f) => (f.data as { id: string }).id === r.id)
    expect(mine.map((f) => f.event)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded'])
    expect(mine[3]!.data).toMatchObject({ id: r.id, name: 'serve.add', queue: 'default', result: 5, runtime: expect.any(Number) })
    expect(mine[0]!.data).toMatchObject({ args: [2, 3] })
    expect(frames.find((f) => f.event === 'task-failed')!.data).toMatchObject({ id: bad.id, error: { name: 'TypeError', message: 'no such thing' } })
    expect(s.endpoint.stats().dropped).toBe(0)
  },
)

it('a client that does not read costs at most its buffer: the app runs on, drops are counted, and the client is told the count', async () => {
  s = await served({ maxBufferedEvents: 4 })
  // node:http, so the response can be left unread: once its buffers are full the socket stops
  // reading, and the server's writes to it back up.
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    get(`${s.endpoint.url}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` } }, resolve).on('error', reject),
  )
  expect(res.statusCode).toBe(200)
  // Big events (each task-sent carries its 256 KiB argument) fill the socket's buffers quickly.
  const big = 'x'.repeat(256 * 1024)
  const handles = []
  for (let round = 0; round < 20 && s.endpoint.stats().dropped === 0; round++) {
    for (let i = 0; i < 20; i++) handles.push(await s.tasks.size.delay(big))
    await s.clock.runAll()
  }
  // The engine did not wait for the client: every task ran.
  for (const h of handles) expect(await h.get()).toBe(big.length)
  const dropped = s.endpoint.stats().dropped
  expect(dropped).toBeGreaterThan(0)

  // The client reads again: what was buffered, then the gap's size, then what came after it.
  let text = ''
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => (text += chunk))
  const after = await s.tasks.add.delay(1, 1)
  await s.clock.runAll()
  await vi.waitFor(() => expect(text).toContain(`"id":"${after.id}"`), { timeout: 10_000 })
  const frames = parseFrames(text)
  expect(frames.filter((f) => f.event === 'dropped')).toEqual([{ event: 'dropped', data: { count: dropped } }])
  const gap = frames.findIndex((f) => f.event === 'dropped')
  expect(frames[gap + 1]).toMatchObject({ event: 'task-sent', data: { id: after.id } })
  // Every event (4 a task: sent, received, started, succeeded) was either delivered or counted.
  expect(gap).toBeGreaterThan(0)
  expect(frames.length - 1).toBe((handles.length + 1) * 4 - dropped)
  res.destroy()
}, 30_000)

it('close() ends the event streams and refuses new connections', async () => {
  s = await served()
  const stream = await subscribe(s.endpoint.url)
  await s.endpoint.close()
  await stream.ended()
  expect(s.endpoint.stats().clients).toBe(0)
  await expect(fetch(`${s.endpoint.url}/v1/inspect/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).rejects.toThrow()
  // The app does not hear for the endpoint any longer.
  expect(s.app.events.listenerCount('task-sent')).toBe(0)
})
