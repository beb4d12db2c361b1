/**
 * What `retry` needs of a task: its name, arguments, queue and priority, remembered from its
 * `task-sent` event, for the last `max` tasks sent (a result record does not keep arguments).
 * Used by the endpoint (`src/serve/`) and by `appSource`; no DOM, no Node.
 */
import { LRUCache } from 'lru-cache'

/** A task as sent: enough to send it again. */
export interface SentTask {
  name: string
  args: unknown[]
  queue: string
  priority: number
}

export class SentTasks {
  readonly #byId: LRUCache<string, SentTask>

  constructor(max = 10_000) {
    this.#byId = new LRUCache({ max })
  }

  /** Remembers a `task-sent` event's task; the least recently used is forgotten past `max`. */
  record(event: { id: string; name: string; args: unknown[]; queue: string; priority: number }): void {
    this.#byId.set(event.id, { name: event.name, args: event.args, queue: event.queue, priority: event.priority })
  }

  get(id: string): SentTask | undefined {
    return this.#byId.get(id)
  }
}
