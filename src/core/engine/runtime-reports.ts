/**
 * What the executor's runtimes report, routed to the room that handles it: a run started, its
 * progress, its outcome, its hooks finished, an RPC it made (send, revoke, lock), a log line.
 */
import type { FromRuntime } from '../model/protocol.js'
import type { Outcomes } from './outcomes.js'
import type { TaskRpc } from './rpc.js'
import type { Runs } from './runs.js'
import type { Starts } from './starts.js'
import type { EngineState } from './state.js'

export class RuntimeReports {
  readonly #state: EngineState
  readonly #runs: Runs
  readonly #starts: Starts
  readonly #outcomes: Outcomes
  readonly #rpc: TaskRpc

  constructor(state: EngineState, runs: Runs, starts: Starts, outcomes: Outcomes, rpc: TaskRpc) {
    this.#state = state
    this.#runs = runs
    this.#starts = starts
    this.#outcomes = outcomes
    this.#rpc = rpc
  }

  receive(message: FromRuntime): void {
    if (this.#state.closed) return
    switch (message.type) {
      case 'started': {
        const run = this.#state.running.get(message.id)
        if (run === undefined || run.settled) return
        if (message.onArrival === true) this.#starts.startUnrecorded(run)
        else if (!run.started || run.unrecorded) this.#starts.startSoon(run)
        return
      }
      case 'state':
        return this.#outcomes.onState(message.id, message.state, message.meta)
      case 'outcome':
        return this.#outcomes.onOutcome(message.id, message.outcome, message.hooks)
      case 'finished': {
        const run = this.#state.running.get(message.id)
        if (run?.hooks) {
          run.hooks = false
          this.#runs.release(run)
        }
        return
      }
      case 'rpc':
        return this.#rpc.onRpc(message.id, message.requestId, message.call, message.from)
      case 'log':
        this.#state.events.emit('log', { id: message.id, level: message.level, text: message.text })
        return
    }
  }
}
