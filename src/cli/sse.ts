/**
 * Server-sent events read from a byte stream: `event:` and `data:` fields, a blank line ends an
 * event, `:` lines are comments (the endpoint's pings). Only what the control endpoint sends is
 * read (no `id:` or `retry:`: the CLI does not reconnect).
 */

/** One event of the stream: its name and its data parsed as JSON. */
export interface StreamEvent {
  event: string
  data: unknown
}

/** The events of a stream of text chunks, as they complete. */
export async function* readEvents(chunks: AsyncIterable<string>): AsyncGenerator<StreamEvent, void, undefined> {
  let pending = ''
  let name = 'message'
  let data: string[] = []
  for await (const chunk of chunks) {
    pending += chunk
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      const line = pending.slice(0, newline).replace(/\r$/, '')
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
      if (line === '') {
        if (data.length > 0) yield { event: name, data: parseData(data.join('\n')) }
        name = 'message'
        data = []
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') name = value
        else if (field === 'data') data.push(value)
      }
    }
  }
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
