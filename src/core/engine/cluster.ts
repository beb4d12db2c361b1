/**
 * Control and inspection across the processes of an app on a transport, as Celery's broadcast
 * commands reach every worker: through the shared store, which every process watches. A control
 * command (a rate limit, a time limit) is a `meta` record each other process applies when it
 * hears of it; an inspection is a request record each consuming process answers with a record of
 * its own, collected until a timeout, as Celery's `inspect` collects the replies that arrive in
 * time. (Revoke with terminate goes with the revoked record itself: see Revocation.)
 */
import { uuid4 } from '../model/ids.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { NodeReport } from './inspection.js'
import type { EngineState } from './state.js'

/** A change another process asks of every process. */
export type Command =
  | { readonly kind: 'rate'; readonly task: string; readonly interval: number | null }
  | { readonly kind: 'time'; readonly task: string; readonly soft: number | null; readonly hard: number | null }

const COMMAND = 'control:'
const INSPECT = 'inspect:'

export class Cluster {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #report: () => NodeReport
  readonly #apply: (command: Command) => void
  /** This process among the app's: `<hostname>@<random>`, as Celery's `name@host`. */
  readonly node: string

  constructor(state: EngineState, commits: CommitQueue, report: () => NodeReport, apply: (command: Command) => void) {
    this.#state = state
    this.#commits = commits
    this.#report = report
    this.#apply = apply
    this.node = `${state.config.hostname}@${uuid4().slice(0, 8)}`
  }

  /** Tells the other processes to change a task's rate limit (this one changed its own). */
  rateLimit(task: string, interval: number | null): void {
    this.#send({ kind: 'rate', task, interval })
  }

  /** Tells the other processes to change a task's time limits (this one changed its own). */
  timeLimit(task: string, soft: number | null, hard: number | null): void {
    this.#send({ kind: 'time', task, soft, hard })
  }

  #send(command: Command): void {
    const state = this.#state
    // One record per task and kind, overwritten: the store keeps the last of each, not a log.
    const key = `${COMMAND}${command.kind}:${command.task}`
    void state
      .hold(this.#commits.commit([{ op: 'put', ns: 'meta', key, value: { ...command, from: this.node } }]))
      .catch((error: unknown) => state.log(`celeriac: could not tell the other processes of a ${command.kind} limit: ${String(error)}`))
  }

  /**
   * Asks every process for its report; resolves after `timeout` ms (app clock) with the replies
   * that came, this process's included, by node.
   */
  async inspect(timeout: number): Promise<Record<string, NodeReport>> {
    const state = this.#state
    const id = uuid4()
    const request = `${INSPECT}${id}`
    const replies: Record<string, NodeReport> = { [this.node]: this.#report() }
    await this.#commits.commit([{ op: 'put', ns: 'meta', key: request, value: { from: this.node } }])
    await new Promise<void>((resolve) => state.clock.setTimer(state.clock.now() + timeout, resolve))
    const store = this.#commits.store()
    const drop: Mutation[] = [{ op: 'delete', ns: 'meta', key: request }]
    for (const [key, value] of await store.entries('meta')) {
      if (!key.startsWith(`${request}#`)) continue
      replies[key.slice(request.length + 1)] = value as NodeReport
      drop.push({ op: 'delete', ns: 'meta', key })
    }
    await this.#commits.commit(drop)
    return replies
  }

  /** A `meta` record another process wrote: a command to apply, or an inspection to answer. */
  onChange(key: string): void {
    if (key.startsWith(COMMAND) && this.#state.consuming) this.#read(key, (value) => this.#apply(value as Command))
    else if (key.startsWith(INSPECT) && !key.includes('#') && this.#state.consuming) {
      this.#read(key, () => {
        const reply: Mutation = { op: 'put', ns: 'meta', key: `${key}#${this.node}`, value: this.#report() }
        return this.#commits.commit([reply])
      })
    }
  }

  #read(key: string, then: (value: unknown) => unknown): void {
    const state = this.#state
    void state
      .hold(
        this.#commits
          .store()
          .get('meta', key)
          .then((value) => (value === undefined ? undefined : then(value))),
      )
      .catch((error: unknown) => state.log(`celeriac: could not answer another process (${key}): ${String(error)}`))
  }
}
