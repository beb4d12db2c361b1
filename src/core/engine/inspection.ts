/**
 * Inspection: what `app.inspect` reads of this process's engine, Celery's `inspect` replies of one
 * worker: the runs that started (active), those held or ready and not started (reserved), those
 * waiting for their eta (scheduled), the revoked ids, and counters. On a transport each process
 * answers `inspect.cluster()` with its `report()` (cluster.ts).
 */
import type { TaskMessage } from '../model/message.js'
import type { PoolHealth } from '../executor/executor.js'
import type { NodeReport } from './cluster.js'
import type { Gates } from './gates.js'
import type { EngineState } from './state.js'

/** The engine's counters, and its worker pool's health (null without a pool). */
export interface EngineCounters {
  running: number
  ready: number
  scheduled: number
  parked: number
  pool: PoolHealth | null
}

export class Inspection {
  readonly #state: EngineState
  readonly #gates: Gates

  constructor(state: EngineState, gates: Gates) {
    this.#state = state
    this.#gates = gates
  }

  /** Runs that started (Celery's active); one a worker holds but has not started is reserved. */
  active(): TaskMessage[] {
    return [...this.#state.running.values()].filter((r) => r.started && !r.settled).map((r) => r.message)
  }

  scheduled(): TaskMessage[] {
    return this.#state.scheduler.delayed()
  }

  reserved(): TaskMessage[] {
    const state = this.#state
    const held = [...state.running.values()].filter((r) => !r.started && !r.settled).map((r) => r.message)
    return [...held, ...state.scheduler.ready(), ...this.#gates.parked()]
  }

  revokedIds(): string[] {
    return this.#state.revoked.ids()
  }

  stats(): EngineCounters {
    const state = this.#state
    return {
      running: state.running.size,
      ready: state.scheduler.readyCount,
      scheduled: state.scheduler.delayedCount,
      parked: state.parked,
      pool: state.executor.health?.() ?? null,
    }
  }

  /** This process's answer to a cluster-wide inspect. */
  report(): NodeReport {
    const { running, ready, scheduled, parked } = this.stats()
    return { active: this.active(), reserved: this.reserved(), scheduled: this.scheduled(), stats: { running, ready, scheduled, parked } }
  }
}
