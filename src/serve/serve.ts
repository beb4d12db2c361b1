/** `serve(app, options)`: the app's inspect, control, results and events over HTTP, for this machine only. */
import { chmod } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Celeriac } from '../core/app/app.js'
import { ConfigError } from '../core/model/errors.js'
import { SentTasks } from '../dashboard/sent-tasks.js'
import { bearerCheck } from './auth.js'
import { Broadcast } from './broadcast.js'
import { isDashboardPath, serveDashboard } from './dashboard.js'
import { HttpError, errorReply } from './errors.js'
import { checkServeOptions } from './options.js'
import type { Listen, ServeOptions } from './options.js'
import { allowed, route } from './routes.js'
import { EventClient } from './sse.js'

export type { ServeOptions } from './options.js'

/**
 * A running endpoint.
 *
 * @example
 * const endpoint = await serve(app, { socket: './shop.sock', token })
 * console.log(endpoint.url, endpoint.stats().clients)
 * await endpoint.close()
 */
export interface ServeHandle {
  /** `http://127.0.0.1:<port>`, or `unix:<path>` on a Unix socket. */
  readonly url: string
  /** Live counters of the event streams. */
  stats(): ServeStats
  /** Stops listening and closes every connection, event streams included; the app goes on. */
  close(): Promise<void>
}

/**
 * Counters of {@link ServeHandle.stats}.
 *
 * @example
 * const { clients, dropped } = endpoint.stats()
 */
export interface ServeStats {
  /** Event-stream clients connected now. */
  clients: number
  /** Events dropped for clients that did not keep up, all clients together, since `serve()`. */
  dropped: number
}

/** Real time, not the app's clock: the ping keeps a real connection alive through proxies. */
const PING_MS = 15_000

/**
 * Serves the app's control endpoint on 127.0.0.1 (or a Unix socket), behind a bearer token:
 * `GET /v1/inspect/{active,scheduled,reserved,revoked,stats,queues}`, `GET /v1/results/<id>`,
 * `POST /v1/control/{revoke,retry,purge,pause,resume}`, `GET /v1/schedules` as JSON, and
 * `GET /v1/events`, the app's events as server-sent events; and the live dashboard at
 * `/dashboard/` (open `/dashboard/#token=<token>`; `dashboard: false` leaves it out). A request without the token is 401;
 * a bad one gets a 4xx with `{ error: { code, message } }`. An event-stream client that stops
 * reading loses events (counted in `stats().dropped`); it never slows the app. The `celeriac` CLI
 * talks to it.
 *
 * @example
 * import { Celeriac, serve } from 'celeriac/node'
 * const app = new Celeriac({ name: 'shop' })
 * await app.start()
 * const endpoint = await serve(app, { port: 8555, token: process.env.CELERIAC_TOKEN! })
 * // curl -H "Authorization: Bearer $CELERIAC_TOKEN" http://127.0.0.1:8555/v1/inspect/stats
 * // ...
 * await endpoint.close()
 */
export async function serve(app: Celeriac, options: ServeOptions): Promise<ServeHandle> {
  const { token, listen, maxBufferedEvents, dashboard } = checkServeOptions(options)
  const authorized = bearerCheck(token)
  const context = { sent: new SentTasks() }
  const broadcast = new Broadcast(app.events, context.sent)

  const openStream = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
    // A first line, so the client gets the headers now: from then on it hears every event.
    res.write(': connected\n\n')
    const client = new EventClient(res, maxBufferedEvents, broadcast.countDrop)
    broadcast.add(client)
    res.on('close', () => broadcast.remove(client))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://endpoint')
      // The page and its script hold no data: served without the token, which the page sends on.
      if (dashboard && isDashboardPath(pathname)) return await serveDashboard(req.method ?? 'GET', pathname, res)
      if (!authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer')
        throw new HttpError(401, 'UNAUTHORIZED', 'send the endpoint token as "Authorization: Bearer <token>"')
      }
      const found = route(pathname)
      if (found === undefined)
        throw new HttpError(404, 'NOT_FOUND', `no route ${pathname} (see /v1/inspect/*, /v1/results/<id>, /v1/control/*, /v1/schedules, /v1/events)`)
      const method = req.method ?? 'GET'
      const handler = found.methods[method]
      if (handler === undefined) {
        const allow = allowed(found.methods)
        res.setHeader('allow', allow.join(', '))
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${pathname} takes ${allow.join(', ')}, not ${method}`)
      }
      if (handler === 'events') return openStream(res)
      sendJson(res, 200, await handler(app, req, found.param, context))
    } catch (error) {
      if (res.headersSent) return void res.destroy()
      const { status, body } = errorReply(error)
      // The rest of a too-large body is not read: the connection cannot be reused.
      if (status === 413) res.setHeader('connection', 'close')
      sendJson(res, status, body)
    }
  }

  const server = createServer((req, res) => void handle(req, res))
  await listenOn(server, listen)
  const url = listen.kind === 'socket' ? `unix:${listen.path}` : tcpUrl(server.address() as AddressInfo)
  const ping = setInterval(() => broadcast.ping(), PING_MS)
  ping.unref()

  let closing: Promise<void> | undefined
  return {
    url,
    stats: () => ({ clients: broadcast.clients, dropped: broadcast.dropped }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(ping)
        broadcast.closeAll()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function listenOn(server: ReturnType<typeof createServer>, listen: Listen): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        const where = listen.kind === 'socket' ? `socket ${listen.path} exists (remove it if no server uses it)` : `port ${String(listen.port)} is taken`
        reject(new ConfigError(`serve(): ${where}`))
      } else reject(error)
    })
    if (listen.kind === 'socket') server.listen(listen.path, resolve)
    else server.listen(listen.port, listen.host, resolve)
  })
  // The socket controls the app: only its owner may connect (the token still applies).
  if (listen.kind === 'socket') await chmod(listen.path, 0o600)
}

function tcpUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${String(address.port)}`
}
