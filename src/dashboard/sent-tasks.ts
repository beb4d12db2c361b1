/**
 * What `retry` needs of a task: its name, arguments, queue and priority, remembered from its
 * `task-sent` event, for the last `max` tasks sent (a result record does not keep arguments).
 * Used by the endpoint (`src/serve/`) and by `appSource`; no DOM, no Node.
 */

/** A task as sent: enough to send it again. */
export interface SentTask {
  name: string
  args: unknown[]
  queue: string
  priority: number
}

export class SentTasks {
  readonly #max: number
  readonly #byId = new Map<string, SentTask>()

  constructor(max = 10_000) {
    this.#max = max
  }

  /** Remembers a `task-sent` event's task; the oldest is forgotten past `max`. */
  record(event: { id: string; name: string; args: unknown[]; queue: string; priority: number }): void {
    this.#byId.delete(event.id)
    this.#byId.set(event.id, { name: event.name, args: event.args, queue: event.queue, priority: event.priority })
    if (this.#byId.size > this.#max) {
      const oldest = this.#byId.keys().next().value
      if (oldest !== undefined) this.#byId.delete(oldest)
    }
  }

  get(id: string): SentTask | undefined {
    return this.#byId.get(id)
  }
}
