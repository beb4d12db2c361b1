/**
 * Where the control endpoint is and how to prove we may use it: `--url` (http://, or
 * `unix:<path>` as serve() prints a socket's) or `--socket`, and
 * `--token`, each falling back to its environment variable (CELERIAC_URL, CELERIAC_SOCKET,
 * CELERIAC_TOKEN), so a token need not appear in the shell's history or `ps`.
 */
import { UsageError } from './errors.js'

/** A resolved endpoint: an http(s) base URL, or a Unix socket path; and the bearer token. */
export type Endpoint = { kind: 'url'; url: URL; token: string } | { kind: 'socket'; socket: string; token: string }

/** The connection options as commander gives them. */
export interface ConnectionOptions {
  url?: string
  socket?: string
  token?: string
}

/** How an app opens its endpoint, for the messages that say nothing answers. */
export const START_HINT = "the app opens it with `await serve(app, { port: 7777, token })` from 'celeriac/node'"

/** The endpoint from the options, else the environment; a UsageError saying what is missing. */
export function resolveEndpoint(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const url = options.url ?? (options.socket === undefined ? nonEmpty(env.CELERIAC_URL) : undefined)
  const socket = options.socket ?? (options.url === undefined ? nonEmpty(env.CELERIAC_SOCKET) : undefined)
  const token = options.token ?? nonEmpty(env.CELERIAC_TOKEN)
  if (url !== undefined && socket !== undefined) throw new UsageError('give --url or --socket, not both')
  if (url === undefined && socket === undefined)
    throw new UsageError(`no endpoint given: pass --url http://127.0.0.1:PORT or --socket PATH (or set CELERIAC_URL / CELERIAC_SOCKET); ${START_HINT}`)
  if (token === undefined) throw new UsageError('no token given: pass --token or set CELERIAC_TOKEN (the token the app passed to serve())')
  if (socket !== undefined) return { kind: 'socket', socket, token }
  // serve() names a socket endpoint `unix:<path>`: what it prints can be pasted as --url.
  if ((url as string).startsWith('unix:')) return { kind: 'socket', socket: (url as string).slice('unix:'.length), token }
  let parsed: URL
  try {
    parsed = new URL(url as string)
  } catch {
    throw new UsageError(`--url '${url as string}' is not a URL: e.g. http://127.0.0.1:7777`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url '${url as string}': only http:// and https:// URLs, e.g. http://127.0.0.1:7777`)
  }
  return { kind: 'url', url: parsed, token }
}

/** How to name the endpoint in a message. */
export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === 'url' ? endpoint.url.origin : `socket ${endpoint.socket}`
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
