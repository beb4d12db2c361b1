/**
 * The engine: one per started app. It owns consumption of a storage location: it writes
 * messages, keeps them in the scheduler, hands ready ones to the executor within each queue's
 * concurrency, and commits each outcome (result + ack + next messages) in one storage call.
 *
 * This class is the coordinator: it builds the rooms (one per job, sharing an EngineState; the
 * table in ARCHITECTURE.md), starts and stops them, and is the API the app, result handles and
 * control use.
 */
import type { HandleJSON, MessageContext } from '../model/context.js'
import type { ResultRecord, SignatureJSON, TaskMessage } from '../model/message.js'
import type { AsyncResult, ResultSource } from '../result/result.js'
import type { Clock } from '../time/clock.js'
import type { Mutation, StorageKey, StoredValue, TransactStep } from '../../storage/types.js'
import { Chords } from './chords.js'
import { CommitQueue } from './commit-queue.js'
import { Cluster } from './cluster.js'
import type { Command } from './cluster.js'
import { Deliveries } from './deliveries.js'
import { Dispatcher } from './dispatcher.js'
import { ExternalChanges } from './external-changes.js'
import { Failure, failedBy } from './failure.js'
import { Gates } from './gates.js'
import { Inspection } from './inspection.js'
import type { NodeReport } from './inspection.js'
import { Outcomes } from './outcomes.js'
import { ProgressWindow } from './progress-window.js'
import { waitAtMost } from '../time/bounded-wait.js'
import { Pauses } from './pauses.js'
import { Queue } from './queue.js'
import { Recovery } from './recovery.js'
import { RemoteEvents } from './remote-events.js'
import { Results } from './results.js'
import { Revocation } from './revocation.js'
import { RuntimeReports } from './runtime-reports.js'
import { TaskRpc } from './rpc.js'
import { Runs } from './runs.js'
import { Starts } from './starts.js'
import { EngineState } from './state.js'
import type { EngineConfig } from './state.js'
import { Workflow } from './workflow.js'

export type { EngineConfig } from './state.js'

export class Engine implements ResultSource {
  readonly clock: Clock
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #runs: Runs
  readonly #starts: Starts
  readonly #queue: Queue
  /** What the executor's runtimes report (started, progress, outcome, RPC, logs). */
  readonly #reports: RuntimeReports
  readonly #failure: Failure
  readonly #outcomes: Outcomes
  readonly #progressWindow: ProgressWindow
  readonly #gates: Gates
  /** What `app.inspect` reads of this process. */
  readonly inspection: Inspection
  readonly #dispatcher: Dispatcher
  readonly #revocation: Revocation
  /** The paused queues (`app.control.pause`), kept in storage. */
  readonly #pauses: Pauses
  readonly #rpc: TaskRpc
  readonly #recovery: Recovery
  /** On a transport: the messages this process runs come from the broker. */
  readonly #deliveries: Deliveries | undefined
  /** On a transport: control and inspection across the app's processes. */
  readonly #cluster: Cluster | undefined
  /** On a transport: other processes' runs in `app.events`, and this one's reported to them. */
  readonly #remote: RemoteEvents | undefined
  /** What other handles sharing the storage changed (tabs). */
  readonly #external: ExternalChanges
  #unsubscribeNetwork: (() => void) | undefined
  #unwatch: (() => void) | undefined
  #detachClock: (() => void) | undefined

  constructor(config: EngineConfig) {
    this.clock = config.clock
    // Four calls go up the rooms, to rooms built later: the pump (the dispatcher's), the end of
    // a run given up on (a hard time limit; the failure room's), the end of a message that will
    // not run, and the ids of the messages it holds (the gates'; for KnownIds).
    const held = (): string[] => this.#gates.idsHeld()
    const state = new EngineState(config, () => this.#dispatcher.pump(), held)
    const commits = new CommitQueue(state)
    const results = new Results(state, commits, this)
    const runs = new Runs(state)
    const starts = new Starts(state, commits, results, runs, (run, error) => this.#failure.abandon(run, failedBy(error)))
    const queue = new Queue(state, commits, results, (items) => this.#gates.finishUnrun(items))
    const workflow = new Workflow(state)
    const chords = new Chords(state, commits, results, queue, workflow)
    const failure = new Failure(state, commits, results, runs, starts, queue, workflow, chords)
    const gates = new Gates(state, failure)
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#runs = runs
    this.#starts = starts
    this.#queue = queue
    this.#failure = failure
    this.#gates = gates
    this.inspection = new Inspection(state, gates)
    this.#progressWindow = new ProgressWindow(state, commits)
    this.#outcomes = new Outcomes(state, commits, results, runs, starts, queue, workflow, chords, failure, this.#progressWindow)
    this.#dispatcher = new Dispatcher(state, commits, starts, gates)
    this.#revocation = new Revocation(state, commits, runs, gates, failure)
    this.#rpc = new TaskRpc(state, queue, results, this.#revocation)
    this.#recovery = new Recovery(state, commits, chords, failure)
    this.#deliveries =
      state.transport === undefined
        ? undefined
        : new Deliveries(state, state.transport, commits, results, failure, () => this.#recovery.afterLoss(state.transport!))
    state.listen = (queue) => this.#deliveries?.listen(queue)
    this.#pauses = new Pauses(state, commits, {
      paused: (queue) => this.#deliveries?.pause(queue),
      resumed: (queue) => this.#deliveries?.resume(queue),
    })
    this.#cluster =
      state.transport === undefined
        ? undefined
        : new Cluster(
            state,
            commits,
            () => this.inspection.report(),
            (command) => this.#applyCommand(command),
          )
    this.#remote = this.#cluster === undefined ? undefined : new RemoteEvents(state, commits, state.transport!, this.#cluster.node)
    this.#reports = new RuntimeReports(state, runs, starts, this.#outcomes, this.#rpc)
    this.#external = new ExternalChanges(state, commits, results, this.#revocation, this.#pauses, this.#remote, this.#cluster)
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    const state = this.#state
    await state.storage.open()
    try {
      await state.transport?.openTransport(
        {
          clock: this.clock,
          wake: () => state.checkWaiters(),
          log: (text) => state.log(text),
          revoke: (ids, options) => this.#revokeFromBroker(ids, options),
          rejected: (error) => this.#deliveries?.rejected(error),
          defines: (name) => state.config.profile(name) !== undefined,
        },
        (text) => state.log(text),
      )
      await this.#remote?.start()
      // Before anything is taken or dispatched: a queue paused before a restart stays paused.
      await this.#pauses.load()
      if (state.consuming) await this.#startConsuming()
      else await this.#commits.commit(state.revoked.load(await this.#commits.store().entries('revoked')))
    } catch (error) {
      await state.transport?.transport.close().catch(() => undefined)
      await state.storage.close().catch(() => undefined)
      throw error
    }
    // Shared storage (tabs): results another handle stores wake this one's waiters; a consumer
    // takes in messages other handles send.
    this.#unwatch = state.storage.watch?.((changes) => this.#external.apply(changes))
    this.#unsubscribeNetwork = state.config.network.subscribe(() => this.#gates.onNetwork())
    this.#detachClock = this.clock.attach?.({ whenQuiet: () => this.whenQuiet(), isQuiet: () => state.isQuiet() })
    state.schedulePump()
  }

  /**
   * Starts consuming on an engine that started as a producer (the tab elected leader): starts the
   * executor and recovers as after a crash, since the previous consumer may have died mid-task.
   */
  async becomeConsumer(): Promise<void> {
    const state = this.#state
    if (state.consuming || state.closed) return
    state.consuming = true
    try {
      await this.#startConsuming()
    } catch (error) {
      // It could not consume (its executor failed to start): it goes on as a producer.
      state.consuming = false
      throw error
    }
  }

  /**
   * Starts the executor and recovers, with dispatch held until recovery is over: a message sent
   * meanwhile (`await app.start()` then `delay()`, a leader that takes over) is scheduled by its
   * send and may also be read by recovery, so the two copies are made one before anything runs;
   * had it run first, recovery would find it queued (and run it again) or leased (and fail it as
   * lost while it runs).
   */
  async #startConsuming(): Promise<void> {
    const state = this.#state
    const { executor, config } = state
    state.recovering = true
    try {
      // The executor starts first: recovery sends errbacks and chord bodies of tasks lost in a
      // crash, which run once the hold is lifted.
      await executor.start({
        receive: (message) => this.#reports.receive(message),
        lookup: (name) => config.lookup(name),
        clock: this.clock,
        hold: (work) => void state.hold(work),
      })
      try {
        if (state.transport !== undefined) await this.#recovery.recoverOnTransport(state.transport)
        else await this.#recovery.recover()
        await config.onConsume?.()
      } catch (error) {
        await executor.stop().catch(() => undefined)
        throw error
      }
      state.scheduler.dedupe()
    } finally {
      state.recovering = false
    }
    for (const queue of config.queues) state.listen(queue)
    state.schedulePump()
  }

  /** Stops consuming, waits for running tasks (up to `timeout`), closes executor and storage. */
  async stop(timeout: number | undefined): Promise<void> {
    const state = this.#state
    state.known.keep()
    state.consuming = false
    state.scheduler.close()
    // Held by a worker (prefetch), not started: nothing of it is stored, so it stays queued for
    // the next start, as a Celery worker's warm shutdown leaves its prefetched messages unacked.
    // Inline, a run taken is one about to start in this tick: it runs.
    const unstarted: string[] = []
    if (state.executor.reportsStart)
      for (const run of [...state.running.values()]) {
        if (run.started || run.settled) continue
        run.settled = true
        state.executor.post({ type: 'cancel', id: run.message.id, reason: 'shutdown' })
        this.#runs.release(run)
        unstarted.push(run.message.id)
      }
    // On a transport, what this process prefetched and never started goes back to the broker
    // for any consumer, as Celery's warm shutdown leaves its prefetched messages unacked.
    if (state.transport !== undefined) {
      for (const m of [...state.scheduler.removeWhere(() => true), ...this.#gates.unpark(() => true), ...state.afterRun.take(() => true)]) unstarted.push(m.id)
      await state.transport.giveBack(unstarted)
    }
    if (state.running.size > 0) {
      await waitAtMost(state.whenIdle(), timeout)
      for (const run of state.running.values()) {
        state.executor.post({ type: 'cancel', id: run.message.id, reason: 'shutdown' })
      }
    }
    await this.#remote?.stop().catch((error: unknown) => state.log(`celeriac: could not stop listening to other processes' events: ${String(error)}`))
    await state.drainOps()
    this.#rpc.stop()
    this.#gates.stop()
    this.#recovery.stop()
    for (const run of state.running.values()) for (const t of run.timers) this.clock.clearTimer(t)
    this.#progressWindow.stop()
    this.#detachClock?.()
    this.#unwatch?.()
    this.#unsubscribeNetwork?.()
    state.closed = true
    await state.executor.stop()
    // Deliveries not settled stay with the broker: delivered again, here or elsewhere.
    await state.transport?.transport.close()
    await state.storage.close()
  }

  /** Resolves when nothing runs and nothing is ready to run. */
  whenIdle(): Promise<void> {
    return this.#state.whenIdle()
  }

  /**
   * Counts `work` (a storage call made for the app itself, e.g. `app.locks`) as engine work until
   * it settles, so the virtual clock does not move while it is in flight.
   */
  hold<T>(work: Promise<T>): Promise<T> {
    return this.#state.hold(work)
  }

  /** Resolves when nothing can happen without moving the clock (virtual clock's `advance`). */
  whenQuiet(): Promise<void> {
    return this.#state.whenQuiet()
  }

  // ---- sending ---------------------------------------------------------------------------

  /**
   * Sends a signature (JSON form) as a new root or as a child of `context`; resolves with
   * `wrap(handle)` once its messages are stored; `extra` writes are stored in the same call.
   */
  send<T>(
    json: SignatureJSON,
    context: MessageContext,
    dedupeId: string | undefined,
    wrap: (handle: HandleJSON) => T,
    extra?: readonly Mutation[],
  ): Promise<T> {
    return this.#queue.send(json, context, dedupeId, wrap, extra)
  }

  /** Writes for the app itself (a schedule's records), in order with the engine's, counted as engine work. */
  write(mutations: Mutation[]): Promise<void> {
    return this.#state.hold(this.#commits.commit(mutations))
  }

  /** A read-modify-write for the app itself, in order with the engine's writes, counted as engine work. */
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    return this.#state.hold(this.#commits.transact(keys, step))
  }

  /**
   * Sends one task message as a new root (the common `delay()`, with no canvas to expand and no
   * taskId to dedupe); resolves with its handle once it is stored.
   */
  sendMessage(message: TaskMessage): Promise<AsyncResult<unknown>> {
    return this.#queue.sendMessage(message)
  }

  // ---- results ---------------------------------------------------------------------------

  read(id: string): Promise<ResultRecord | undefined> {
    return this.#results.read(id)
  }

  wait(id: string, timeout: number | undefined): Promise<ResultRecord> {
    return this.#results.wait(id, timeout)
  }

  watch(id: string, listener: (record: ResultRecord) => void): () => void {
    return this.#results.watch(id, listener)
  }

  forget(ids: readonly string[]): Promise<void> {
    return this.#results.forget(ids)
  }

  handle<T>(id: string, ignored = false): AsyncResult<T> {
    return this.#results.handle<T>(id, ignored)
  }

  /** Builds a handle from its JSON form, as a function value made once. */
  readonly wrapHandle = (json: HandleJSON): unknown => this.#results.handleFromJSON(json)

  // ---- control ---------------------------------------------------------------------------

  revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    return this.#revocation.revoke(ids, options)
  }

  /** A revoke the broker brought (Celery's broadcast): no caller waits on it, so a failure is logged. */
  #revokeFromBroker(ids: readonly string[], options: { terminate: boolean }): Promise<void> {
    return this.revoke(ids, options).catch((error: unknown) =>
      this.#state.log(`A revoke of ${ids.join(', ')} that the broker brought could not be stored: ${String(error)}`),
    )
  }

  /** Drops every waiting message (of one queue, or all); returns how many. `app.control.purge`. */
  purge(queue: string | undefined): Promise<number> {
    return this.#revocation.purge(queue)
  }

  /** Stops dispatching from `queue` (in every process sharing the storage); sends to it wait. */
  pause(queue: string): Promise<void> {
    return this.#pauses.pause(queue)
  }

  /** Dispatches from a paused `queue` again. */
  resume(queue: string): Promise<void> {
    return this.#pauses.resume(queue)
  }

  /** Overrides a task's time limits for runs that start from now on (in every process, on a transport). */
  setTimeLimit(name: string, soft: number | null, hard: number | null): void {
    this.#starts.setTimeLimit(name, soft, hard)
    this.#cluster?.timeLimit(name, soft, hard)
  }

  /** Changes a task's rate limit live (`app.control.rateLimit`; in every process, on a transport). */
  setRateLimit(name: string, interval: number | null): void {
    this.#gates.setRateLimit(name, interval)
    this.#cluster?.rateLimit(name, interval)
  }

  /** A command another process of the app sent: applied here, not sent on. */
  #applyCommand(command: Command): void {
    if (command.kind === 'rate') this.#gates.setRateLimit(command.task, command.interval)
    else this.#starts.setTimeLimit(command.task, command.soft, command.hard)
  }

  /**
   * What every process of the app holds (on a transport; this one alone otherwise), by node:
   * the replies that came within `timeout` ms.
   */
  inspectCluster(timeout: number): Promise<Record<string, NodeReport>> {
    if (this.#cluster === undefined) return Promise.resolve({ [`${this.#state.config.hostname}@local`]: this.inspection.report() })
    return this.#cluster.inspect(timeout)
  }
}
