/** `app.control` (change a running engine) and `app.inspect` (look at it), as in Celery. */
import type { Engine } from '../engine/engine.js'
import type { QueueInfo } from '../engine/inspection.js'
import type { TaskMessage } from '../model/message.js'
import type { Rate } from '../model/options.js'
import type { PoolHealth } from '../executor/types.js'
import { decode } from '../serializer/decode.js'
import { checkDuration, checkName, checkOptionKeys, parseRate } from '../model/validate.js'
import { ConfigError } from '../model/errors.js'
import { checkRevokeOptions } from '../result/result.js'

/**
 * A queued, scheduled or running task as `inspect` reports it.
 *
 * @example
 * for (const task of app.inspect.active()) console.log(task.id, task.name, task.args)
 */
export interface TaskInfo {
  id: string
  name: string
  args: unknown[]
  queue: string
  priority: number
  /** Epoch ms, or null. */
  eta: number | null
  expires: number | null
  retries: number
  parentId: string | null
  rootId: string
}

/**
 * Counters of the engine.
 *
 * @example
 * const { pool } = app.inspect.stats()
 */
export interface EngineStats {
  running: number
  /** Messages ready to run here (no eta ahead), paused queues' included, as `reserved()` lists them. */
  ready: number
  scheduled: number
  /** Running tasks parked on an engine timer (`self.sleep`). */
  parked: number
  /**
   * Of `ready`, the messages in paused queues (`control.pause`): they wait for a resume, not for
   * a slot, so `ready - paused` is what would run as slots free up.
   */
  paused: number
  /**
   * The worker pool's health (`threads()`, `webWorkers()`): workers live and loading, failed
   * loads and the last one's error, replacements; null for an executor without workers (inline).
   * Celery's `inspect stats` reports its pool under `pool` too.
   */
  pool: PoolHealth | null
}

export type { QueueInfo } from '../engine/inspection.js'

function info(message: TaskMessage): TaskInfo {
  return {
    id: message.id,
    name: message.task,
    args: decode<unknown[]>(message.args),
    queue: message.queue,
    priority: message.priority,
    eta: message.eta,
    expires: message.expires,
    retries: message.retries,
    parentId: message.parentId,
    rootId: message.rootId,
  }
}

/**
 * Changes the running engine.
 *
 * @example
 * await app.control.pause('emails')
 * app.control.rateLimit('web.fetch', '10/s')
 * await app.control.revoke(id, { terminate: true })
 * await app.control.purge('emails') // how many were dropped
 */
export class Control {
  readonly #engine: (what: string) => Engine
  readonly #checkKnown: (taskName: string) => void
  readonly #checkQueue: (queue: string, what: string) => void

  /**
   * @internal `checkKnown` throws NotRegistered for a task the app knows it cannot run;
   * `checkQueue` a ConfigError for a queue the app does not declare.
   */
  constructor(engine: (what: string) => Engine, checkKnown: (taskName: string) => void, checkQueue: (queue: string, what: string) => void) {
    this.#engine = engine
    this.#checkKnown = checkKnown
    this.#checkQueue = checkQueue
  }

  /**
   * Revokes tasks by id: a queued or scheduled one never runs (REVOKED); with `terminate`, a
   * running one is stopped. Unknown ids are remembered, so they never run if they arrive later
   * (the most recent 50 000 ids, each for 3 hours of engine clock, across restarts on durable
   * storage: Celery's `REVOKES_MAX` and `REVOKE_EXPIRES`).
   */
  async revoke(ids: string | readonly string[], options: { terminate?: boolean } = {}): Promise<void> {
    if (typeof ids !== 'string' && !Array.isArray(ids)) {
      throw new ConfigError(`control.revoke(ids): ids must be a task id or an array of them, got ${ids === null ? 'null' : typeof ids}`)
    }
    const list = typeof ids === 'string' ? [ids] : [...ids]
    for (const id of list) checkName(id, 'control.revoke: task id')
    await this.#engine('revoke').revoke(list, checkRevokeOptions(options, 'control.revoke(ids, options)'))
  }

  /**
   * Changes a task's rate limit live; null removes it. A task the app cannot run is
   * NotRegistered (Celery's worker answers 'unknown task').
   */
  rateLimit(taskName: string, rate: Rate | null): void {
    checkName(taskName, 'control.rateLimit: task name')
    const interval = parseRate(rate, `control.rateLimit('${taskName}')`)
    this.#checkKnown(taskName)
    this.#engine('change a rate limit').setRateLimit(taskName, interval)
  }

  /** Changes a task's time limits for runs that start from now on (ms; null clears). */
  timeLimit(taskName: string, limits: { soft?: number | null; hard?: number | null }): void {
    checkName(taskName, 'control.timeLimit: task name')
    checkOptionKeys<typeof limits>(limits, ['soft', 'hard'], `control.timeLimit('${taskName}', limits)`)
    const soft = limits.soft == null ? null : checkDuration(limits.soft, 'control.timeLimit: soft', true)
    const hard = limits.hard == null ? null : checkDuration(limits.hard, 'control.timeLimit: hard', true)
    if (soft !== null && hard !== null && soft > hard)
      throw new ConfigError(`control.timeLimit('${taskName}'): soft (${String(soft)} ms) must not exceed hard (${String(hard)} ms)`)
    this.#checkKnown(taskName)
    this.#engine('change a time limit').setTimeLimit(taskName, soft, hard)
  }

  /**
   * Pauses a queue: nothing more of it is dispatched (tasks running now finish), and what is
   * sent to it waits, as do its retries and countdowns that fall due, until {@link resume}.
   * Stored, so it outlasts a restart; on shared storage or a transport every process of the app
   * stops taking from it (on BullMQ, each process's Worker pauses, as `queue.pause()` would).
   * Emits `'queue-paused'`. Pausing a paused queue does nothing. A queue the app does not
   * declare (once it declares any) is a ConfigError.
   *
   * @example
   * await app.control.pause('emails')   // e.g. while the mail provider is down
   * await sendEmail.delay('ada@example.com') // stored; waits
   * await app.control.resume('emails')  // it runs now
   */
  async pause(queue: string): Promise<void> {
    checkName(queue, 'control.pause(queue): queue')
    this.#checkQueue(queue, 'control.pause')
    await this.#engine(`pause queue '${queue}'`).pause(queue)
  }

  /**
   * Resumes a paused queue: what waited in it is dispatched, highest priority first, in the order
   * sent. Emits `'queue-resumed'`; resuming a queue that is not paused does nothing.
   *
   * @example
   * app.events.on('queue-resumed', ({ queue }) => console.log(`${queue} runs again`))
   * await app.control.resume('emails')
   */
  async resume(queue: string): Promise<void> {
    checkName(queue, 'control.resume(queue): queue')
    this.#checkQueue(queue, 'control.resume')
    await this.#engine(`resume queue '${queue}'`).resume(queue)
  }

  /** Drops every waiting message (of one queue, or all); resolves with how many. */
  async purge(queue?: string): Promise<number> {
    if (queue !== undefined) checkName(queue, 'control.purge(queue): queue')
    return this.#engine('purge').purge(queue)
  }
}

/**
 * Looks at the running engine.
 *
 * @example
 * app.inspect.active()    // what runs now
 * app.inspect.queues()    // each queue's state and counts
 * app.inspect.stats().pool
 */
export class Inspect {
  readonly #engine: (what: string) => Engine
  readonly #registered: () => string[]

  /** @internal */
  constructor(engine: (what: string) => Engine, registered: () => string[]) {
    this.#engine = engine
    this.#registered = registered
  }

  /** Tasks running now. */
  active(): TaskInfo[] {
    return this.#engine('inspect').inspection.active().map(info)
  }

  /** Tasks waiting for their eta (countdown, retry delay), by eta. */
  scheduled(): TaskInfo[] {
    return this.#engine('inspect').inspection.scheduled().map(info)
  }

  /** Tasks ready to run, waiting for a slot or a rate-limit token. */
  reserved(): TaskInfo[] {
    return this.#engine('inspect').inspection.reserved().map(info)
  }

  /** Ids remembered as revoked: the most recent 50 000, each for 3 hours after its revoke (engine clock). */
  revoked(): string[] {
    return this.#engine('inspect').inspection.revokedIds()
  }

  /**
   * The queues this process knows (the declared ones first, then others that hold or ran
   * tasks, or are paused): whether each is paused, its concurrency, and its tasks running,
   * ready and scheduled here. Celery's `inspect active_queues`, with counts.
   *
   * @example
   * for (const q of app.inspect.queues()) console.log(q.name, q.paused ? 'paused' : 'running', q.reserved)
   */
  queues(): QueueInfo[] {
    return this.#engine('inspect').inspection.queues()
  }

  /** Names of the tasks this app can run. */
  registered(): string[] {
    return this.#registered()
  }

  /**
   * Counters of the engine, and its worker pool's health.
   *
   * @example
   * const { pool } = app.inspect.stats()
   * if (pool?.failing) console.error(`tasks fail: ${pool.lastLoadError}`)
   */
  stats(): EngineStats {
    return this.#engine('inspect').inspection.stats()
  }

  /**
   * What every process of the app holds, by node (`<app name>@<id>`), as Celery's `inspect()`
   * asks every worker: on a transport each process answers through the shared store, and the
   * replies that come within `timeout` ms (app clock) are returned; without a transport, this
   * process alone. The other methods of `inspect` are this process's own view.
   *
   * @example
   * const nodes = await app.inspect.cluster({ timeout: 1_000 })
   * for (const [node, { active }] of Object.entries(nodes)) console.log(node, active.length)
   */
  async cluster(options: { timeout?: number } = {}): Promise<Record<string, NodeInfo>> {
    checkOptionKeys<typeof options>(options, ['timeout'], 'inspect.cluster(options)')
    const timeout = options.timeout === undefined ? 1_000 : checkDuration(options.timeout, 'inspect.cluster: timeout', true)
    const replies = await this.#engine('inspect').inspectCluster(timeout)
    const out: Record<string, NodeInfo> = {}
    for (const [node, r] of Object.entries(replies)) {
      out[node] = {
        active: r.active.map(info),
        reserved: r.reserved.map(info),
        scheduled: r.scheduled.map(info),
        stats: { paused: 0, ...r.stats },
        queues: r.queues ?? [],
      }
    }
    return out
  }
}

/**
 * One process's answer to {@link Inspect.cluster}.
 *
 * @example
 * const nodes = await app.inspect.cluster({ timeout: 1_000 })
 * for (const [node, info] of Object.entries(nodes)) console.log(node, info.active.length)
 */
export interface NodeInfo {
  active: TaskInfo[]
  reserved: TaskInfo[]
  scheduled: TaskInfo[]
  stats: Omit<EngineStats, 'pool'>
  /** Its queues as {@link Inspect.queues} gives them, paused ones marked (empty in a reply from an older celeriac, which sent none). */
  queues: QueueInfo[]
}
