/** A small app on the virtual clock, served; and clients for the endpoint (fetch, and HTTP on a Unix socket). */
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Celeriac, fileStorage, serve } from '../../src/node.js'
import type { ServeHandle, ServeOptions, Task } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'

export const TOKEN = 'test-token-0123456789abcdef'
export const SECOND = 1_000

/** The storages the endpoint's tests that read or change the app's state run on. */
export const STORAGES = ['memory', 'file'] as const

/** The app on `storage`: the default memory storage, or file storage in a temporary directory (removed by `stop`). */
export async function served(options: Partial<ServeOptions> = {}, storage: (typeof STORAGES)[number] = 'memory') {
  const clock = virtualClock({ now: Date.UTC(2026, 0, 1) })
  const dir = storage === 'file' ? mkdtempSync(join(tmpdir(), 'celeriac-serve-')) : undefined
  const app = new Celeriac({
    name: 'served',
    clock,
    queues: { default: { concurrency: 1 }, other: {} },
    ...(dir === undefined ? {} : { storage: fileStorage({ dir }) }),
  })
  const tasks = {
    add: app.task('serve.add', (a: number, b: number) => a + b),
    nap: app.task('serve.nap', { bind: true }, async (self: Task, ms: number) => {
      await self.sleep(ms)
      return ms
    }),
    fail: app.task('serve.fail', () => {
      throw new TypeError('no such thing')
    }),
    size: app.task('serve.size', (text: string) => text.length),
  }
  await app.start()
  const endpoint: ServeHandle = await serve(app, { token: TOKEN, ...options })
  return {
    app,
    clock,
    tasks,
    endpoint,
    /** One request with the token (or `token`); the status and the parsed JSON body. */
    async call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: unknown; headers: Headers }> {
      const headers: Record<string, string> = {}
      if (token !== null) headers.authorization = `Bearer ${token}`
      const res = await fetch(endpoint.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      })
      return { status: res.status, body: await res.json(), headers: res.headers }
    },
    async stop() {
      await endpoint.close()
      await app.stop()
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** One request over a Unix socket (fetch cannot reach one without a dispatcher). */
export function overSocket(
  socketPath: string,
  method: string,
  path: string,
  token: string | null = TOKEN,
  body?: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Frames of an event stream, read as they come. */
export interface Frame {
  event: string
  data: unknown
}

export function parseFrames(text: string): Frame[] {
  const out: Frame[] = []
  for (const block of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1]
    const data = /^data: (.*)$/m.exec(block)?.[1]
    if (event !== undefined && data !== undefined) out.push({ event, data: JSON.parse(data) })
  }
  return out
}
