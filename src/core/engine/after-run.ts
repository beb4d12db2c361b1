/**
 * Messages taken to run while a run of their id is still here (its hooks run after its outcome;
 * a broker handed the id out twice): each waits until that run leaves (Runs.release), as the
 * runs' books here and in the executors go by id. In order, per id.
 */
import type { TaskMessage } from '../model/message.js'

export class AfterRun {
  readonly #waiting = new Map<string, TaskMessage[]>()

  /** How many ids have messages waiting (0 on nearly every path: checked before anything else). */
  get size(): number {
    return this.#waiting.size
  }

  /** `message` waits for the run of its id to leave. */
  wait(message: TaskMessage): void {
    const waiting = this.#waiting.get(message.id)
    if (waiting === undefined) this.#waiting.set(message.id, [message])
    else waiting.push(message)
  }

  /** The run of `id` left: the messages that waited for it, in order (none: an empty list). */
  release(id: string): readonly TaskMessage[] {
    const waiting = this.#waiting.get(id)
    if (waiting === undefined) return []
    this.#waiting.delete(id)
    return waiting
  }

  /** Takes the messages that `which` picks out (a pause, a stop gives them back). */
  take(which: (message: TaskMessage) => boolean): TaskMessage[] {
    const taken: TaskMessage[] = []
    for (const [id, waiting] of this.#waiting) {
      const staying: TaskMessage[] = []
      for (const message of waiting) (which(message) ? taken : staying).push(message)
      if (staying.length === 0) this.#waiting.delete(id)
      else this.#waiting.set(id, staying)
    }
    return taken
  }

  /** Every waiting message (`inspect.reserved()`). */
  messages(): TaskMessage[] {
    return [...this.#waiting.values()].flat()
  }

  /** The ids with messages waiting. */
  ids(): Iterable<string> {
    return this.#waiting.keys()
  }
}
