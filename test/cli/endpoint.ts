/**
 * The real control endpoint (`serve()` from celeriac/node) for the CLI's tests, as the tests
 * address it: `url` is the base URL, or the socket's path (the CLI also takes `unix:<path>`).
 */
import type { Celeriac } from '../../src/index.js'
import { serve } from '../../src/node.js'

export interface Endpoint {
  /** The base URL, or the socket's path. */
  url: string
  /** Event-stream clients connected now. */
  streams(): number
  close(): Promise<void>
}

export async function endpoint(app: Celeriac, token: string, socket?: string): Promise<Endpoint> {
  const handle = await serve(app, socket === undefined ? { token, port: 0 } : { token, socket })
  return {
    url: handle.url.startsWith('unix:') ? handle.url.slice('unix:'.length) : handle.url,
    streams: () => handle.stats().clients,
    close: () => handle.close(),
  }
}
