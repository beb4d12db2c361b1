/**
 * Inspection: what `app.inspect` reads of this process's engine, Celery's `inspect` replies of one
 * worker: the runs that started (active), those held or ready and not started (reserved), those
 * waiting for their eta (scheduled), the revoked ids, and counters. On a transport each process
 * answers `inspect.cluster()` with its `report()` (cluster.ts).
 */
import type { TaskMessage } from '../model/message.js'
import type { PoolHealth } from '../executor/types.js'
import type { Gates } from './gates.js'
import type { EngineState } from './state.js'

/** The engine's counters, and its worker pool's health (null without a pool). */
export interface EngineCounters {
  running: number
  ready: number
  scheduled: number
  parked: number
  /** Of `ready`, those in paused queues: they wait for a resume, not for a slot. */
  paused: number
  pool: PoolHealth | null
}

/**
 * A queue as `inspect.queues()` reports it (this process's view).
 *
 * @example
 * for (const q of app.inspect.queues()) console.log(q.name, q.paused, q.reserved)
 */
export interface QueueInfo {
  name: string
  /** Paused with `control.pause`: sends wait in it, nothing of it is dispatched. */
  paused: boolean
  /** When it was paused (engine clock, epoch ms), or null. */
  pausedAt: number | null
  /** How many of its tasks run at once here. */
  concurrency: number
  /** Its tasks running now. */
  active: number
  /** Its tasks ready to run (in a paused queue: waiting for the resume), held here. */
  reserved: number
  /** Its tasks waiting for their eta here. */
  scheduled: number
}

/** What one process says of itself to an inspection (`inspect.cluster()`; cluster.ts carries it between processes). */
export interface NodeReport {
  readonly active: TaskMessage[]
  readonly reserved: TaskMessage[]
  readonly scheduled: TaskMessage[]
  readonly stats: { running: number; ready: number; scheduled: number; parked: number; paused?: number }
  /** Its queues, paused ones marked. Absent in a reply from a celeriac before it. */
  readonly queues?: QueueInfo[]
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
    // Taken to run while a run of its id was still here (its hooks): it waits for that one to leave.
    return [...held, ...state.afterRun.messages(), ...state.scheduler.ready(), ...this.#gates.parked()]
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
      paused: [...state.paused.keys()].reduce((sum, queue) => sum + state.scheduler.readyIn(queue), 0),
      pool: state.executor.health?.() ?? null,
    }
  }

  /**
   * Each queue this process knows (declared, holding messages, running tasks, or paused), the
   * declared ones first: whether it is paused, its concurrency and what it holds.
   */
  queues(): QueueInfo[] {
    const state = this.#state
    const out = new Map<string, QueueInfo>()
    const entry = (name: string): QueueInfo => {
      let q = out.get(name)
      if (q === undefined) {
        const at = state.paused.get(name)
        q = { name, paused: at !== undefined, pausedAt: at ?? null, concurrency: state.config.concurrency(name), active: 0, reserved: 0, scheduled: 0 }
        out.set(name, q)
      }
      return q
    }
    for (const name of state.config.queues) entry(name)
    const others = new Set<string>([...state.paused.keys(), ...state.scheduler.queueNames()])
    for (const run of state.running.values()) others.add(run.message.queue)
    for (const name of [...others].sort()) entry(name)
    for (const m of this.active()) entry(m.queue).active++
    for (const m of this.reserved()) entry(m.queue).reserved++
    for (const m of this.scheduled()) entry(m.queue).scheduled++
    return [...out.values()]
  }

  /** This process's answer to a cluster-wide inspect. */
  report(): NodeReport {
    const { running, ready, scheduled, parked, paused } = this.stats()
    return {
      active: this.active(),
      reserved: this.reserved(),
      scheduled: this.scheduled(),
      stats: { running, ready, scheduled, parked, paused },
      queues: this.queues(),
    }
  }
}
