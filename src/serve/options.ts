/** The options of {@link serve}, checked once. */
import { ConfigError } from '../core/model/errors.js'

/**
 * Options of `serve(app, options)`.
 *
 * @example
 * const endpoint = await serve(app, { port: 8555, token: process.env.CELERIAC_TOKEN ?? '' })
 */
export interface ServeOptions {
  /**
   * The secret every request must send as `Authorization: Bearer <token>`; at least 16
   * characters (e.g. `randomBytes(24).toString('base64url')`).
   */
  token: string
  /** TCP port on `host`; 0 picks a free one (read it from the handle's `url`). @default 0 */
  port?: number
  /** Listen on this Unix socket path instead of TCP (the file is made readable by its owner only). */
  socket?: string
  /** The loopback address to listen on: `'127.0.0.1'`, `'::1'` or `'localhost'`. @default '127.0.0.1' */
  host?: string
  /**
   * Events held for one SSE client that is not reading; beyond it that client's events are
   * dropped and counted (`stats().dropped`). @default 1000
   */
  maxBufferedEvents?: number
  /**
   * Serve the live dashboard at `/dashboard/` (open `/dashboard/#token=<token>`). Its page and
   * script hold no data and are served without the token; every `/v1` call it makes sends it.
   * @default true
   */
  dashboard?: boolean
}

const KEYS = ['token', 'port', 'socket', 'host', 'maxBufferedEvents', 'dashboard']
const LOOPBACK = ['127.0.0.1', '::1', 'localhost']
const MIN_TOKEN = 16

/** Where to listen, checked. */
export type Listen = { kind: 'tcp'; host: string; port: number } | { kind: 'socket'; path: string }

/** The options, checked and defaulted. */
export interface CheckedServeOptions {
  token: string
  listen: Listen
  maxBufferedEvents: number
  dashboard: boolean
}

export function checkServeOptions(options: ServeOptions): CheckedServeOptions {
  const where = 'serve(app, options)'
  if (typeof options !== 'object' || options === null) throw new ConfigError(`${where}: options must be an object with at least a token`)
  const unknown = Object.keys(options).filter((k) => !KEYS.includes(k))
  if (unknown.length > 0) throw new ConfigError(`${where}: unknown option ${unknown.map((k) => `'${k}'`).join(', ')} (options: ${KEYS.join(', ')})`)
  const { token, port, socket, host, maxBufferedEvents } = options
  if (options.dashboard !== undefined && typeof options.dashboard !== 'boolean') throw new ConfigError(`${where}: dashboard must be true or false`)
  const dashboard = options.dashboard ?? true
  if (typeof token !== 'string' || token.length < MIN_TOKEN) {
    throw new ConfigError(`${where}: token must be a string of at least ${String(MIN_TOKEN)} characters (e.g. randomBytes(24).toString('base64url'))`)
  }
  const buffered = maxBufferedEvents ?? 1000
  if (!Number.isInteger(buffered) || buffered < 1)
    throw new ConfigError(`${where}: maxBufferedEvents must be a whole number >= 1, got ${String(maxBufferedEvents)}`)
  if (socket !== undefined) {
    if (port !== undefined || host !== undefined) throw new ConfigError(`${where}: give either socket, or port and host, not both`)
    if (typeof socket !== 'string' || socket === '') throw new ConfigError(`${where}: socket must be a file path`)
    return { token, listen: { kind: 'socket', path: socket }, maxBufferedEvents: buffered, dashboard }
  }
  const p = port ?? 0
  if (!Number.isInteger(p) || p < 0 || p > 65_535) throw new ConfigError(`${where}: port must be a whole number from 0 to 65535, got ${String(port)}`)
  const h = host ?? '127.0.0.1'
  // The endpoint controls the app: it is for this machine only. Reach it from elsewhere through
  // an SSH tunnel or a proxy you configure, not by listening on a public address.
  if (!LOOPBACK.includes(h)) throw new ConfigError(`${where}: host must be a loopback address (${LOOPBACK.join(', ')}), got '${String(h)}'`)
  return { token, listen: { kind: 'tcp', host: h, port: p }, maxBufferedEvents: buffered, dashboard }
}
