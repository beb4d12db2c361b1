/// <reference lib="dom" />
/** `httpSource(url, token)`: the dashboard over the control endpoint (`serve()` of `celeriac/node`). */
import type { DashboardSource, StreamState } from './source.js'
import { readEvents } from './sse-reader.js'
import type { DashboardEvent, InspectSnapshot, QueueView, ResultView, TaskInfoView } from './types.js'

/** An error answer of the endpoint: its `code` and message. */
class EndpointError extends Error {
  override readonly name = 'EndpointError'
  readonly code: string
  readonly status: number

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Reconnection waits, real time: doubled from the first to the last, never a storm. */
const RECONNECT_MS = [1_000, 2_000, 5_000, 10_000, 30_000]

/**
 * The dashboard's source over the control endpoint at `url` (`http://127.0.0.1:PORT`, or `''`
 * for the page's own origin), sending `token` as a bearer header. Events come through one
 * streamed `GET /v1/events`, reconnected after 1 s, 2 s, 5 s, 10 s, then every 30 s (not after a
 * 401: the token is wrong).
 *
 * @example
 * import { httpSource, mountDashboard } from 'celeriac/dashboard'
 * mountDashboard(document.querySelector('#tasks')!, { source: httpSource('', token) })
 */
export function httpSource(url: string, token: string): DashboardSource {
  const base = url.replace(/\/$/, '')
  const headers = { authorization: `Bearer ${token}` }

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    })
    const json: unknown = await res.json().catch(() => null)
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error
      throw new EndpointError(res.status, error?.code ?? 'HTTP', error?.message ?? `${method} ${path}: HTTP ${String(res.status)}`)
    }
    return json as T
  }

  return {
    async inspect(): Promise<InspectSnapshot> {
      const [active, reserved, scheduled, queues] = await Promise.all([
        call<TaskInfoView[]>('GET', '/v1/inspect/active'),
        call<TaskInfoView[]>('GET', '/v1/inspect/reserved'),
        call<TaskInfoView[]>('GET', '/v1/inspect/scheduled'),
        call<QueueView[]>('GET', '/v1/inspect/queues'),
      ])
      return { active, reserved, scheduled, queues }
    },
    result: (id) => call<ResultView>('GET', `/v1/results/${encodeURIComponent(id)}`),
    async revoke(id, options = {}) {
      await call('POST', '/v1/control/revoke', { ids: [id], terminate: options.terminate === true })
    },
    async retry(id) {
      return (await call<{ id: string }>('POST', '/v1/control/retry', { id })).id
    },
    async pause(queue) {
      await call('POST', '/v1/control/pause', { queue })
    },
    async resume(queue) {
      await call('POST', '/v1/control/resume', { queue })
    },
    subscribe(listener: (event: DashboardEvent) => void, state?: (state: StreamState) => void): () => void {
      const stop = new AbortController()
      state?.('connecting')
      void (async () => {
        let attempt = 0
        while (!stop.signal.aborted) {
          try {
            const res = await fetch(`${base}/v1/events`, { headers, signal: stop.signal })
            // A wrong token stays wrong: asking again would only fill the endpoint's log.
            if (res.status === 401) return state?.('refused')
            if (res.ok && res.body !== null) {
              attempt = 0
              state?.('live')
              await readEvents(res.body, listener, stop.signal)
            }
          } catch {
            // refused, reset, or aborted: retried below unless stopped
          }
          if (stop.signal.aborted) return
          state?.('reconnecting')
          const wait = RECONNECT_MS[Math.min(attempt++, RECONNECT_MS.length - 1)] ?? 30_000
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait)
            const cancel = (): void => {
              clearTimeout(timer)
              resolve()
            }
            stop.signal.addEventListener('abort', cancel, { once: true })
          })
        }
      })()
      return () => stop.abort()
    },
  }
}
