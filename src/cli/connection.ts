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
  /** A file-storage directory no process owns, read instead of asking an endpoint. */
  dir?: string
}

/** Where the answers come from: an endpoint, or a file-storage directory read as it is on disk. */
export type Source = Endpoint | { kind: 'dir'; dir: string }

/**
 * `--dir` (or CELERIAC_DIR), else the endpoint. What is on the command line wins over the
 * environment; `--dir` with `--url`/`--socket`, or both kinds in the environment, is a UsageError.
 */
export function resolveSource(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Source {
  const lineEndpoint = options.url !== undefined || options.socket !== undefined
  if (options.dir !== undefined && lineEndpoint) throw new UsageError('give --dir or --url/--socket, not both: --dir reads a directory no app runs on')
  if (options.dir !== undefined) return { kind: 'dir', dir: options.dir }
  if (lineEndpoint) return resolveEndpoint(options, env)
  const dir = nonEmpty(env.CELERIAC_DIR)
  if (dir === undefined) return resolveEndpoint(options, env)
  if (nonEmpty(env.CELERIAC_URL) !== undefined || nonEmpty(env.CELERIAC_SOCKET) !== undefined) {
    throw new UsageError('CELERIAC_DIR and CELERIAC_URL / CELERIAC_SOCKET are both set: unset one, or pass --dir or --url on the command line')
  }
  return { kind: 'dir', dir }
}

/** How an app opens its endpoint, for the messages that say nothing answers. */
export const START_HINT = "the app opens it with `await serve(app, { port: 7777, token })` from 'celeriac/node'"

/** The endpoint from the options, else the environment; a UsageError saying what is missing. */
function resolveEndpoint(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const url = options.url ?? (options.socket === undefined ? nonEmpty(env.CELERIAC_URL) : undefined)
  const socket = options.socket ?? (options.url === undefined ? nonEmpty(env.CELERIAC_SOCKET) : undefined)
  const token = options.token ?? nonEmpty(env.CELERIAC_TOKEN)
  if (url !== undefined && socket !== undefined) throw new UsageError('give --url or --socket, not both')
  if (url === undefined && socket === undefined)
    throw new UsageError(
      `no endpoint given: pass --url http://127.0.0.1:PORT or --socket PATH (or set CELERIAC_URL / CELERIAC_SOCKET), ` +
        `or --dir PATH to read a file-storage directory no app runs on; ${START_HINT}`,
    )
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
