import type { BackendContext } from './context.js'

/** Lifecycle and identity: readiness, closing, the connection-like events, and the names of the queue's keys. */

export type Listener = (...args: unknown[]) => void

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

export function close(c: BackendContext): Promise<void> {
  if (!c.owns) return Promise.resolve()
  c.closing ??= (async () => {
    c.waits.interrupt()
    c.q.clients.delete(c)
    await c.store.flush()
    c.emitter.emit('close')
  })()
  return c.closing
}

export async function disconnect(c: BackendContext): Promise<void> {
  // As a dropped connection: blocked reads return, later ones too.
  c.waits.interrupt()
}

export async function setName(c: BackendContext, name: string): Promise<void> {
  c.q.clients.set(c, name)
}

export function on(c: BackendContext, event: 'ready' | 'error' | 'close', listener: Listener): void {
  c.emitter.on(event, listener)
}

export function once(c: BackendContext, event: 'ready' | 'error' | 'close', listener: Listener): void {
  c.emitter.once(event, listener)
}

export function removeListener(c: BackendContext, event: string, listener: Listener): void {
  c.emitter.removeListener(event, listener)
}

export function keys(c: BackendContext): Record<string, string> {
  const base = `${c.qualifiedName}:`
  const keys: Record<string, string> = { '': base }
  for (const k of [
    'active',
    'wait',
    'waiting',
    'paused',
    'resumed',
    'meta',
    'id',
    'delayed',
    'prioritized',
    'stalled-check',
    'completed',
    'failed',
    'stalled',
    'repeat',
    'limiter',
    'drained',
    'events',
    'marker',
    'pc',
    'de',
    'progress',
    'metrics',
    'waiting-children',
  ])
    keys[k] = `${base}${k}`
  return keys
}

export function parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
  const last = key.lastIndexOf(':')
  const prev = key.lastIndexOf(':', last - 1)
  if (last === -1 || prev === -1) {
    const [prefix = '', queueName = '', id = ''] = key.split(':')
    return { prefix, queueName, id }
  }
  return { prefix: key.slice(0, prev), queueName: key.slice(prev + 1, last), id: key.slice(last + 1) }
}

export function clientName(c: BackendContext, suffix = ''): string {
  return `${c.prefix}:${base64(c.name)}${suffix}`
}

/** A Worker's blocking connection shows in the client list under its name. */
export function registerBlockingClient(c: BackendContext): void {
  const worker = (c.opts as { name?: string }).name
  c.q.clients.set(c, `${clientName(c)}${worker ? `:w:${worker}` : ''}`)
}
