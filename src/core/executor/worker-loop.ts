/**
 * The inside of a worker (Node worker_threads or a browser Web Worker), written once: load the
 * task module, say hello, then run the TaskRuntime, batching what goes back per microtask.
 * The environment shells (`adapters/node/worker.ts`, `adapters/browser/worker.ts`) only wire
 * `post`, `listen` and `load`.
 */
import { collectRealmApps, otherCopyMadeApps, realmTask, realmTaskNames } from '../task/registry.js'
import { outsideRuns, soleRunContext, useAsyncContext } from '../task/current-run.js'
import { ConfigError } from '../model/errors.js'
import { TaskRuntime } from './executor.js'
import type { Encoded } from '../model/json.js'
import type { FromRuntime, ToRuntime } from '../model/protocol.js'
import type { FromWorker, ToWorker } from './wire.js'
import { WIRE_VERSION, pushReport, readBatch, singleMessage } from './wire.js'
import { encodeError } from '../serializer/encode.js'
import { profileOf } from '../model/options.js'
import { microtask } from '../time/microtask.js'

export interface WorkerShell {
  /** Sends a batch (or the hello) to the pool. */
  post(message: FromWorker): void
  /** Calls `handler` with each batch from the pool. */
  listen(handler: (batch: ToWorker) => void): void
  /** Imports the task module. */
  load(): Promise<unknown>
  /** A label for errors: the module's URL. */
  readonly moduleName: string
  /** How many tasks run at once here; more are held in order. */
  readonly concurrency: number
  /**
   * Optional: waits for the pool's next batch without its event loop's wake-up (Node's shell:
   * spinning up to `threads({ idleSpin })`, then with `idleWait: 'atomics'` in `Atomics.wait`),
   * handing what comes to the `listen` handler, and returns;
   * or returns at once when it cannot (something else keeps its event loop); or arranges to call
   * `again` later (the Node shell rests only in its event loop's check phase, so what the last
   * task left to run goes first, and again after a while without a batch). Called in a microtask,
   * as code of no run, when the worker holds nothing (no run in progress, held, leasing, or
   * waiting for a reply) and the last batch it got held one item: a worker sent several at a
   * time is kept busy by the pool without it. `again` rests only if that still holds.
   */
  rest?(again: () => void): void
}

/** Runs the worker side; resolves once the hello is sent. */
export async function runWorkerLoop(shell: WorkerShell): Promise<void> {
  collectRealmApps()
  // With no async context injected (a browser), a worker that runs one task at a time still
  // knows which task a plain send comes from.
  let runtime: TaskRuntime | undefined
  if (shell.concurrency === 1) useAsyncContext(() => soleRunContext(() => runtime?.soleRun()))
  try {
    await shell.load()
  } catch (error) {
    shell.post({
      type: 'init-failed',
      wire: WIRE_VERSION,
      error: encodeError(new ConfigError(`The task module ${shell.moduleName} failed to load: ${error instanceof Error ? error.message : String(error)}`)),
    })
    return
  }
  const tasks = realmTaskNames()
  if (tasks.length === 0) {
    const message = otherCopyMadeApps()
      ? `The task module ${shell.moduleName} made its app with another copy of celeriac than the worker's: load celeriac in the task module as the app does (both import or both require(); one bundle or neither), so that the worker finds its tasks`
      : `The task module ${shell.moduleName} registered no tasks: it must create an app and call app.task(...) when imported`
    shell.post({ type: 'init-failed', wire: WIRE_VERSION, error: encodeError(new ConfigError(message)) })
    return
  }
  let outbox: Array<Encoded | FromRuntime> = []
  const flush = (): void => {
    if (outbox.length > 0) {
      const batch = outbox
      outbox = []
      shell.post(batch)
    }
    if (rest !== undefined) restSoon()
  }
  const rest = shell.rest
  /** The last batch held one item (or none came yet): an idle worker may rest. */
  let single = true
  let restQueued = false
  const idle = (): boolean => single && runtime?.quiet === true
  const again = (): void => {
    if (idle()) rest?.(again)
  }
  /** Asks the shell to rest, in a microtask, as code of no run, if the worker is idle then (the Node shell defers the rest itself to its event loop's check phase). */
  const restSoon = (): void => {
    if (restQueued || !idle()) return
    restQueued = true
    microtask(() => {
      restQueued = false
      outsideRuns(again)
    })
  }
  runtime = new TaskRuntime({
    lookup: realmTask,
    concurrency: shell.concurrency,
    reportStart: true,
    flush,
    post: (message) => {
      if (outbox.length === 0 && !handling) microtask(flush)
      pushReport(outbox, message)
    },
  })
  /** A batch from the pool is being handled: what its runs report at once goes when it is done. */
  let handling = false
  const handle = (message: ToRuntime): void => runtime.handle(message)
  shell.listen((batch) => {
    single = singleMessage(batch)
    handling = true
    try {
      readBatch(batch, handle)
    } finally {
      handling = false
      flush()
    }
  })
  shell.post({ type: 'ready', wire: WIRE_VERSION, tasks: tasks.map((name) => ({ name, profile: profileOf(realmTask(name)!) })) })
  if (rest !== undefined) restSoon()
}
