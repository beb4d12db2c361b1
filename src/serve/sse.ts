/**
 * One server-sent-events client. Writes go straight to the socket while it keeps up; once the
 * socket pushes back, frames wait in a bounded buffer, and when that is full new events are
 * dropped and counted, so a client that stops reading costs a bounded amount of memory and never
 * makes the app wait. The next event delivered after a gap is preceded by `event: dropped` with
 * how many were lost there.
 */
import type { ServerResponse } from 'node:http'

/** One event as sent on the stream. */
export function frame(name: string, json: string): string {
  return `event: ${name}\ndata: ${json}\n\n`
}

export class EventClient {
  readonly #res: ServerResponse
  readonly #capacity: number
  readonly #onDrop: () => void
  /** Frames waiting for the socket to drain (bounded by `capacity`, plus one gap notice each). */
  #waiting: string[] = []
  #waitingEvents = 0
  /** Events dropped since the last one delivered: the size of the current gap. */
  #gap = 0
  #blocked = false
  #closed = false

  constructor(res: ServerResponse, capacity: number, onDrop: () => void) {
    this.#res = res
    this.#capacity = capacity
    this.#onDrop = onDrop
    res.on('drain', () => this.#flush())
  }

  /** Queues one event's frame; never waits. */
  send(text: string): void {
    if (this.#closed) return
    if (this.#blocked && this.#waitingEvents >= this.#capacity) {
      this.#gap++
      this.#onDrop()
      return
    }
    if (this.#gap > 0) {
      this.#push(frame('dropped', JSON.stringify({ count: this.#gap })))
      this.#gap = 0
    }
    this.#push(text)
    this.#waitingEvents++
    if (!this.#blocked) this.#flush()
  }

  /** A comment line, which keeps proxies and idle timeouts from closing the stream; skipped while the client lags. */
  ping(): void {
    if (!this.#closed && !this.#blocked) this.#blocked = !this.#res.write(': ping\n\n')
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#waiting = []
    this.#res.end()
  }

  #push(text: string): void {
    this.#waiting.push(text)
  }

  #flush(): void {
    this.#blocked = false
    if (this.#waiting.length === 0) return
    // One write for what waited: fewer syscalls, and one backpressure signal to follow.
    const text = this.#waiting.join('')
    this.#waiting = []
    this.#waitingEvents = 0
    if (!this.#closed) this.#blocked = !this.#res.write(text)
  }
}
