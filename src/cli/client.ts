/**
 * The control endpoint's client (its contract: CONTROL-API in the docs, `serve()` in
 * `celeriac/node`): JSON requests with the bearer token, and the live event stream. Every
 * failure becomes a CliError: EndpointError for an answer that is an error, ConnectError when
 * nothing answers.
 */
import { request as httpRequest } from 'node:http'
import type { IncomingMessage, RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { ConnectError, EndpointError } from './errors.js'
import { describeEndpoint, START_HINT } from './connection.js'
import type { Endpoint } from './connection.js'
import { readEvents } from './sse.js'
import type { StreamEvent } from './sse.js'

/** How long a request (not the event stream) may wait for its answer. */
const REQUEST_TIMEOUT_MS = 10_000

export class ControlClient {
  readonly #endpoint: Endpoint

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint
  }

  /** GET a JSON resource. */
  get(path: string): Promise<unknown> {
    return this.#json('GET', path)
  }

  /** POST a JSON body; resolves with the JSON answer. */
  post(path: string, body: Record<string, unknown>): Promise<unknown> {
    return this.#json('POST', path, body)
  }

  /** The live events of `/v1/events`, until the server ends the stream or `signal` aborts. */
  async *events(signal: AbortSignal): AsyncGenerator<StreamEvent, void, undefined> {
    const response = await this.#send('GET', '/v1/events', undefined, { accept: 'text/event-stream' }, signal, null)
    if (response.statusCode !== 200) throw await errorOf(response)
    response.setEncoding('utf8')
    try {
      yield* readEvents(response as AsyncIterable<string>)
    } catch (error) {
      // An abort (Ctrl-C, --max reached) ends the stream on purpose.
      if (signal.aborted) return
      throw this.#closed(` (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    } finally {
      response.destroy()
    }
    // The stream has no end of its own: the endpoint closed it (its app stopped?).
    if (!signal.aborted) throw this.#closed('')
  }

  #closed(why: string): ConnectError {
    return new ConnectError(`${describeEndpoint(this.#endpoint)} closed the event stream${why}: did the app stop?`)
  }

  async #json(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<unknown> {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (text !== undefined) headers['content-type'] = 'application/json'
    const response = await this.#send(method, path, text, headers, undefined, REQUEST_TIMEOUT_MS)
    if ((response.statusCode ?? 0) >= 400) throw await errorOf(response)
    const answer = await readAll(response)
    try {
      return JSON.parse(answer) as unknown
    } catch {
      throw new EndpointError(
        response.statusCode ?? 0,
        'BAD_ANSWER',
        `${describeEndpoint(this.#endpoint)} answered ${method} ${path} with something that is not JSON: is it a celeriac endpoint?`,
      )
    }
  }

  #send(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    timeout: number | null,
  ): Promise<IncomingMessage> {
    const endpoint = this.#endpoint
    const options: RequestOptions = { method, headers: { ...headers, authorization: `Bearer ${endpoint.token}` } }
    if (signal !== undefined) options.signal = signal
    let request: typeof httpRequest = httpRequest
    if (endpoint.kind === 'socket') {
      options.socketPath = endpoint.socket
      options.path = path
    } else {
      options.host = endpoint.url.hostname.replace(/^\[(.*)\]$/, '$1')
      options.port = endpoint.url.port
      options.path = `${endpoint.url.pathname.replace(/\/+$/, '')}${path}`
      if (endpoint.url.protocol === 'https:') request = httpsRequest
    }
    return new Promise((resolve, reject) => {
      const req = request(options, resolve)
      req.on('error', (error) => reject(this.#connectError(error)))
      if (timeout !== null) {
        req.setTimeout(timeout, () =>
          req.destroy(new ConnectError(`${describeEndpoint(endpoint)} did not answer ${method} ${path} within ${String(timeout / 1000)} s`)),
        )
      }
      req.end(body)
    })
  }

  #connectError(error: unknown): Error {
    if (error instanceof ConnectError) return error
    const code = (error as NodeJS.ErrnoException).code
    const why = code ?? (error instanceof Error ? error.message : String(error))
    return new ConnectError(`cannot connect to ${describeEndpoint(this.#endpoint)} (${why}): is the app running, with its control endpoint open? ${START_HINT}`)
  }
}

async function readAll(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8')
  let text = ''
  for await (const chunk of response as AsyncIterable<string>) text += chunk
  return text
}

/** The endpoint's error body (`{ error: { code, message } }`) as an EndpointError. */
async function errorOf(response: IncomingMessage): Promise<EndpointError> {
  const status = response.statusCode ?? 0
  const text = await readAll(response).catch(() => '')
  let code = `HTTP_${String(status)}`
  let message = `the endpoint answered ${String(status)} ${response.statusMessage ?? ''}`.trim()
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
    if (typeof body.error?.code === 'string') code = body.error.code
    if (typeof body.error?.message === 'string') message = body.error.message
  } catch {
    // Not our endpoint's JSON: the status line says enough.
  }
  if (status === 401) message = `${message} (check --token / CELERIAC_TOKEN: it must be the token the app passed to serve())`
  return new EndpointError(status, code, message)
}
