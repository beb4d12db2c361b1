/**
 * Server-sent events read from a fetch body (EventSource cannot send an `Authorization`
 * header). Only what the endpoint sends is handled: `event:` and one `data:` line a frame,
 * comments (`: ping`) skipped.
 */
import type { DashboardEvent } from './types.js'

/** Calls `onEvent` for each frame of `body` until it ends or `signal` aborts. */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: DashboardEvent) => void, signal: AbortSignal): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const abort = (): void => void reader.cancel().catch(() => undefined)
  signal.addEventListener('abort', abort, { once: true })
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end !== -1) {
        const event = parseFrame(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        if (event !== undefined) onEvent(event)
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    signal.removeEventListener('abort', abort)
  }
}

function parseFrame(block: string): DashboardEvent | undefined {
  let type: string | undefined
  let data: string | undefined
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice(7)
    else if (line.startsWith('data: ')) data = line.slice(6)
  }
  if (type === undefined || data === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(data)
    return { type, data: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {} }
  } catch {
    return undefined
  }
}
