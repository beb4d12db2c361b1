/** The worker_threads entry: a thin shell around the shared worker loop. */
import { fileURLToPath } from 'node:url'
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { runWorkerLoop } from '../../core/executor/worker-loop.js'
import type { WorkerShell } from '../../core/executor/worker-loop.js'
import { trackRunsAcrossAwaits } from './async-context.js'
import { WIRE_VERSION } from '../../core/executor/wire.js'
import type { FromWorker, ToWorker } from '../../core/executor/wire.js'
import { ConfigError } from '../../core/model/errors.js'
import { encodeError } from '../../core/serializer/encode.js'
import type { WakeData } from './wake.js'

/** What the pool starts a worker with (threads.ts, startThread). */
interface ThreadData {
  readonly module: string
  readonly concurrency: number
  readonly reports: MessagePort
  readonly wake?: WakeData
  /** How long a worker idle after one task keeps taking the next off its port itself, in ms (0: never). Absent before this option: 0. */
  readonly spin?: number
  readonly wire: number
}

const port = parentPort
if (port === null) throw new Error('celeriac node-worker must run inside a worker thread')
const data = workerData as Partial<ThreadData> | null
if (data?.wire === WIRE_VERSION) serve(port, data as ThreadData)
else refuse(data?.reports ?? port, data?.wire)

function serve(port: MessagePort, { module, concurrency, reports, wake, spin = 0 }: ThreadData): void {
  trackRunsAcrossAwaits()
  let handler: ((batch: ToWorker) => void) | undefined
  // Made here, before the task module is imported: it counts what the worker itself keeps open.
  const resting = wake === undefined && spin === 0 ? undefined : restingOn(port, wake, spin, (batch) => handler?.(batch))
  const shell: WorkerShell = {
    moduleName: module,
    concurrency,
    // On the pool's own port for reports (see startThread); batches come on parentPort.
    post: (message) => reports.postMessage(message),
    listen: (handle) => {
      handler = handle
      port.on('message', (batch: ToWorker) => handle(batch))
    },
    load: () => loadTaskModule(module),
    ...(resting === undefined ? {} : { rest: resting }),
  }
  void runWorkerLoop(shell)
}

/**
 * Started by the pool of another celeriac (another version or build: it says another protocol
 * version, or none): the load fails at once, with a hello any celeriac pool reads as a failed load
 * (on its reports port, or on the parentPort, where pools before that port listened).
 */
function refuse(to: MessagePort, theirs: unknown): void {
  const said = typeof theirs === 'number' ? `version ${String(theirs)}` : 'a version from before versions were said'
  const error = new ConfigError(
    `celeriac's worker entry speaks version ${String(WIRE_VERSION)} of celeriac's worker protocol, and the pool that started it speaks ${said}: the app runs another celeriac (another version or build) than this worker entry; point threads({ workerUrl }) at the 'celeriac/node-worker' entry of the celeriac the app runs, or leave workerUrl out`,
  )
  const hello: FromWorker = { type: 'init-failed', wire: WIRE_VERSION, error: encodeError(error) }
  to.postMessage(hello)
}

/**
 * Imports the task module. The CommonJS build of this file turns import() into require(), which
 * takes a path, not a file: URL: its "not found" (MODULE_NOT_FOUND, where import() says
 * ERR_MODULE_NOT_FOUND) is retried with the path.
 */
async function loadTaskModule(specifier: string): Promise<unknown> {
  try {
    return await import(specifier)
  } catch (error) {
    if (!specifier.startsWith('file:') || (error as { code?: unknown } | null)?.code !== 'MODULE_NOT_FOUND') throw error
    return import(fileURLToPath(specifier))
  }
}

/**
 * Rests one check phase may hold after the first (see `restingOn`): so up to this many + 1 tasks
 * sent one at a time are taken between two turns of the event loop.
 */
const FOLLOW_UPS = 3

/**
 * The shell's `rest`: what an idle worker does before its event loop waits for the next batch.
 *
 * First it may spin (`threads({ idleSpin })`, 50 µs by default): until that long after it went
 * idle it takes the next batch off its port itself (`receiveMessageOnPort`), so a task sent soon
 * after the last one's result, as a caller sending one task at a time does, finds its worker
 * running. Waking a thread that sleeps, in its event loop or in `Atomics.wait`, is a kernel
 * wake-up, which on a virtual machine can cost ~20 µs on each side of a round trip, more than the
 * engine's own work (NOTES.md, "Worker threads: a short spin before an idle worker sleeps"). A
 * spin that finds nothing costs that much CPU, once an idle time (a worker sent several tasks at
 * once never spins: the worker loop asks for a rest only after a batch of one).
 *
 * Then, with `idleWait: 'atomics'`, it rests: it waits in `Atomics.wait` on the counter the pool
 * bumps after each post, and takes the batch off its port itself, so the wake-up does not go
 * through its event loop's poll. Without it, the event loop waits, as any Node thread does.
 *
 * It spins or rests only while nothing but its own ports keeps that loop (counted now, before the
 * task module is imported, plus `port`, which its listener refs): a task module's ref'd timer,
 * socket, request or port keeps it in the loop.
 *
 * A rest starts in the event loop's check phase (`setImmediate`), never in the microtask the
 * worker loop asks in: what the last task left to run (its `process.nextTick`s, the rest of a
 * promise chain it did not await) runs first. The check phase runs a queue of immediates with the
 * ticks and microtasks after each: so a rest is queued as a group, the first immediate ref'd (the
 * loop's poll must not block before the check phase) and {@link FOLLOW_UPS} unref'd ones behind
 * it, and after a task taken in one rest the next immediate of the group rests again, after that
 * task's ticks and microtasks, without a turn of the loop between (a turn is a poll, and the
 * post's own signal to the loop to take there: measured in NOTES.md, "Worker latency, lat8"). So
 * the loop turns at least every FOLLOW_UPS + 1 tasks; the rests of one group wait `timeout` ms
 * in all at most, and each spins `spin` ms at most: what waits meanwhile (the module's unref'd
 * timers and listeners on ports it unref'd, its due timers and I/O callbacks) waits no longer
 * than with one rest a turn. After `timeout` ms without a batch the loop has its turn and the
 * worker rests again; after a spin without one (no counter to wait on), the loop waits.
 */
function restingOn(port: MessagePort, wake: WakeData | undefined, spin: number, handle: (batch: ToWorker) => void): NonNullable<WorkerShell['rest']> {
  const counter = wake?.counter
  /** Until when this idle time's rest spins (performance.now()): `spin` after the worker loop asked, or 0 once it spun. */
  let spinUntil = 0
  // Without a counter nothing waits: a group's rests are spins alone (each bounded by `spinUntil`).
  const timeout = wake?.timeout ?? 0
  // The pool's port is unref'd until listened to: it counts then, as one of ours.
  const own = ports(process.getActiveResourcesInfo()) + ((port as { hasRef?: () => boolean }).hasRef?.() === true ? 0 : 1)
  /** Immediates of the queued group still to run. */
  let left = 0
  /** A rest was asked for and not yet made. */
  let wanted: (() => void) | undefined
  /** In the group's immediates, in `inTurn`: the rest may block now. */
  let inCheckPhase = false
  /** The group's rests may wait until then (performance.now()); a rest that timed out ends them. */
  let until = 0
  const group = (): void => {
    left = 1 + FOLLOW_UPS
    // Ref'd, so the loop's poll does not block for I/O before the check phase (an unref'd
    // immediate lets it wait there for the next batch, and the rest never comes); while its
    // callback runs it is no longer among the active resources onlyOwn counts, and the unref'd
    // ones never are.
    setImmediate(firstOfGroup)
    for (let i = 0; i < FOLLOW_UPS; i++) setImmediate(followUp).unref()
  }
  const firstOfGroup = (): void => {
    until = performance.now() + timeout
    inTurn()
  }
  // Named apart (not inTurn itself) so that a task's stack tells which rest took it.
  const followUp = (): void => inTurn()
  const inTurn = (): void => {
    left--
    const again = wanted
    if (again !== undefined && until > 0) {
      wanted = undefined
      inCheckPhase = true
      try {
        again()
      } finally {
        inCheckPhase = false
      }
    }
    // The last of the group: a rest asked for since (after a timeout, or a task taken in the
    // last rest) waits for the next turn of the loop.
    if (left === 0 && wanted !== undefined) group()
  }
  const later = (again: () => void): void => {
    wanted = again
    if (left === 0) group()
  }
  const rest = (again: () => void): void => {
    if (!inCheckPhase) {
      // The worker loop asks: the worker went idle now.
      spinUntil = performance.now() + spin
      return later(again)
    }
    if (!onlyOwn(own)) return
    for (;;) {
      const seen = counter === undefined ? 0 : Atomics.load(counter, 0)
      const received = receiveMessageOnPort(port)
      if (received !== undefined) return handle(received.message as ToWorker)
      const now = performance.now()
      if (now < spinUntil) {
        // The counter moves with each post and is cheaper to watch than the port.
        if (counter !== undefined) while (Atomics.load(counter, 0) === seen && performance.now() < spinUntil);
        continue
      }
      // A rest again after a timeout does not spin.
      spinUntil = 0
      // Nothing came while it spun, and no counter to wait on: the event loop waits from here.
      if (counter === undefined) {
        until = 0
        return
      }
      const wait = until - now
      // Timed out: the loop's turn (its timers first), then rest again.
      if (wait <= 0 || Atomics.wait(counter, 0, seen, wait) === 'timed-out') {
        until = 0
        return later(again)
      }
    }
  }
  return rest
}

/** Whether only the worker's own `own` ports keep its event loop, and its output is written out. */
function onlyOwn(own: number): boolean {
  const resources = process.getActiveResourcesInfo()
  if (resources.length !== own || ports(resources) !== own) return false
  // Written output waits for the main thread's word that it was taken, which comes through the loop.
  return process.stdout.writableLength === 0 && process.stderr.writableLength === 0
}

function ports(resources: readonly string[]): number {
  let n = 0
  for (const resource of resources) if (resource === 'MessagePort') n++
  return n
}
