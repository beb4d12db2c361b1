/**
 * A stand-in for `serve()` (the control endpoint, CONTROL-API) over a real app, for the CLI's
 * tests until they run against the real one: the same paths, bearer token, error bodies and
 * event stream, answered from `app.inspect`, `app.control`, results and `app.events`. Small on
 * purpose: no body limit, no per-client buffer.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Celeriac, CeleriacError } from '../../src/index.js'
import type { CeleriacEvents } from '../../src/index.js'

export interface EndpointDouble {
  /** The base URL, or the socket's path. */
  url: string
  /** Event-stream clients connected now. */
  streams(): number
  close(): Promise<void>
}

/** Every event of the app, as serve() streams them. */
const EVENTS = [
  'task-sent',
  'task-received',
  'task-started',
  'task-progress',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-revoked',
  'task-rejected',
  'message-rejected',
  'queue-paused',
  'queue-resumed',
  'log',
] as const satisfies ReadonlyArray<keyof CeleriacEvents>

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Errors as `{ name, message }`, Dates as ISO strings: what JSON.stringify would lose. */
function toJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // below
  }
  throw new HttpError(400, 'BAD_REQUEST', 'the body must be a JSON object')
}

function queueOf(b: Record<string, unknown>): string {
  if (typeof b.queue !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'body.queue: the queue name (a string) is required')
  return b.queue
}

/** Listens on 127.0.0.1 (any free port), or on the Unix socket `socket`. */
export async function endpointDouble(app: Celeriac, token: string, socket?: string): Promise<EndpointDouble> {
  let streams = 0
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, 'UNAUTHORIZED', 'a bearer token is required (Authorization: Bearer <token>)')
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const get = req.method === 'GET'
    const inspect = /^\/v1\/inspect\/(active|scheduled|reserved|revoked|stats|queues)$/.exec(path)?.[1]
    if (inspect !== undefined && get) return app.inspect[inspect as 'active']()
    if (path.startsWith('/v1/results/') && get) return app.AsyncResult(decodeURIComponent(path.slice('/v1/results/'.length))).status()
    if (path === '/v1/schedules' && get) return app.schedules.list()
    if (path === '/v1/events' && get) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const listeners = EVENTS.map((name) => {
        const listener = (data: unknown): void => void res.write(`event: ${name}\ndata: ${toJSON(data)}\n\n`)
        app.events.on(name, listener)
        return () => app.events.off(name, listener)
      })
      streams += 1
      res.write(': ping\n\n')
      await once(req.socket, 'close')
      streams -= 1
      for (const off of listeners) off()
      return undefined
    }
    const control = /^\/v1\/control\/(revoke|purge|pause|resume)$/.exec(path)?.[1]
    if (control !== undefined && req.method === 'POST') {
      const b = await body(req)
      if (control === 'revoke') {
        await app.control.revoke(b.ids as string[], { terminate: b.terminate === true })
        return { ok: true, ids: b.ids }
      }
      if (control === 'purge') return { ok: true, purged: await app.control.purge(b.queue as string | undefined) }
      await app.control[control as 'pause' | 'resume'](queueOf(b))
      return { ok: true }
    }
    if (inspect !== undefined || control !== undefined) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}`)
    throw new HttpError(404, 'NOT_FOUND', `no such path: ${path}`)
  }

  const server = createServer((req, res) => {
    answer(req, res).then(
      (value) => {
        if (res.headersSent) return void res.end()
        res.writeHead(200, { 'content-type': 'application/json' }).end(toJSON(value))
      },
      (error: unknown) => {
        const [status, code] =
          error instanceof HttpError
            ? [error.status, error.code]
            : error instanceof CeleriacError && error.code === 'CONFIG'
              ? [422, 'CONFIG']
              : [500, 'INTERNAL']
        res.writeHead(status, { 'content-type': 'application/json' }).end(toJSON({ error: { code, message: (error as Error).message } }))
      },
    )
  })
  if (socket === undefined) server.listen(0, '127.0.0.1')
  else server.listen(socket)
  await once(server, 'listening')
  return {
    url: socket ?? `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    streams: () => streams,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
