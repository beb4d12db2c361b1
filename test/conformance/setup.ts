/**
 * The conformance matrix in Node: every scenario runs on every storage × executor that exists
 * here. Add a combination when a storage or executor lands; it is done when the whole suite is
 * green. `setup.browser.ts` is the same matrix in Chromium.
 */
// IndexedDB's globals for the indexedDB combination, as a browser has them.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inline, memoryStorage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { indexedDBStorage } from '../../src/browser.js'
import type { BackendFactory } from 'bullmq'
import { bullmqBackend, bullmqTransport } from '../../src/bullmq/index.js'
import type { Storage, Transport } from '../../src/index.js'
import type { VirtualClock } from '../../src/testing.js'
import { loopbackBroker } from '../transport/loopback.js'
import { redisDown } from '../bullmq/backends.js'
import { virtualClock } from '../../src/testing.js'
import { closeRedisWatches, redisClusterStore, redisTransport } from './redis-broker.js'
import { bundledThreads } from '../workers/bundled.js'
import { keptWorkers } from '../workers/kept-workers.js'
import { threadsExecutor } from '../../src/adapters/node/threads.js'
import { forEachComboOf, selectCombos } from './harness.js'
import type { Combo } from './harness.js'

export { seeded, setup } from './harness.js'
export type { Combo, Harness } from './harness.js'

const workerTasks = new URL('./worker-tasks.ts', import.meta.url)
/** The conformance tasks in two worker threads, compiled once per run (test/workers/bundled.ts), idle ones kept for the next app (kept-workers.ts). */
const inThreads = () => threadsExecutor({ ...bundledThreads(workerTasks), size: 2 }, keptWorkers)
/**
 * The same with idle workers resting in `Atomics.wait` (`idleWait: 'atomics'`), each rest up to an
 * hour rather than 100 ms: a wake-up lost would hang a scenario, not slow it down.
 */
const inRestingThreads = () => threadsExecutor({ ...bundledThreads(workerTasks), size: 2, idleWait: 'atomics' }, keptWorkers, { restTimeout: 3_600_000 })
const fileDirs: string[] = []

/** A fresh directory for each file storage; removed after the combination's scenarios. */
function fileDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-conformance-'))
  fileDirs.push(dir)
  return dir
}

/** After a combination's scenarios: their directories and Redis keys go. */
async function cleanup(): Promise<void> {
  for (const dir of fileDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  await closeRedisWatches()
}

/**
 * What differs on any transport, by design (NOTES.md, "The engine on a transport"): messages
 * with a countdown wait in the broker, not in a process, so `inspect.scheduled()` (this
 * process's view) does not list them; a process prefetches four times its concurrency, so
 * priority orders what it holds and the broker orders the rest; a task waiting for its
 * rate-limit token goes back to the broker until then, so it is not listed as reserved and a
 * new rate applies to it only when it comes back.
 */
const SCHEDULED = 'messages with a countdown wait in the broker: inspect.scheduled() lists what this process holds'
const RATE = 'a task waiting for its token goes back to the broker until then (so others pass it): not listed as reserved'
const transportGaps: Readonly<Record<string, string>> = {
  'active, reserved, scheduled, revoked and stats are right at each point': SCHEDULED,
  'control.purge drops waiting messages (of one queue, or all) and says how many; running tasks go on': SCHEDULED,
  'revoke of a scheduled (countdown) task: it leaves the schedule, is REVOKED before its time and never runs': SCHEDULED,
  'revoke of a task waiting between retries: the next attempt never runs': SCHEDULED,
  'higher priority runs first; equal priorities run in the order sent':
    'a process prefetches 4 × its concurrency (as Celery): priority orders what it holds, the broker orders the rest',
  "'6/m' lets exactly 6 through in the first minute, then one every 10 s; a free task in the same queue is not held back": RATE,
  'control.purge also drops tasks waiting for a rate-limit token': RATE,
  'control.rateLimit changes the rate live: a fresh bucket (the next one runs at once), then the new spacing; null removes it':
    'a task waiting for its token is back in the broker, due at the old rate: a new rate applies to it when it comes back',
}

const SCHEDULES = 'sends each slot once on the engine clock, and after a restart runs the slots missed while down once'
/** The in-memory broker keeps no schedules (each process would fire them). */
const loopbackGaps: Readonly<Record<string, string>> = {
  ...transportGaps,
  [SCHEDULES]: 'the loopback broker keeps no schedules (each process would fire them): upsert is a ConfigError there',
}
/**
 * On Redis BullMQ's job schedulers keep Redis's own time, which the virtual clock does not move
 * (redis-broker.ts promotes jobs by their message's eta; an iteration has none):
 * redis-schedules.test.ts tests them in real time.
 */
const redisGaps: Readonly<Record<string, string>> = {
  ...transportGaps,
  [SCHEDULES]: "BullMQ's job schedulers on Redis keep Redis's time, not the virtual clock: test/transport/redis-schedules.test.ts runs them in real time",
}

/** BullMQ queues of `store` (apps given the same store share them), on the first app's clock. */
const bullmqBackends = new WeakMap<Storage, BackendFactory>()
function bullmqOn(store: Storage, clock: VirtualClock): Transport {
  let backend = bullmqBackends.get(store)
  if (backend === undefined) {
    backend = bullmqBackend({ storage: memoryStorage(), clock })
    bullmqBackends.set(store, backend)
  }
  // Locks are renewed and stalls looked for on real time (src/bullmq/README.md): an hour of
  // virtual time passes in milliseconds, so neither may fire here.
  return bullmqTransport({ connection: {}, store, backend, lockDuration: 86_400_000, stalledInterval: 86_400_000, retention: 172_800_000 })
}

const allCombos: readonly Combo[] = [
  { asyncContext: true, name: 'memory × inline', storage: () => memoryStorage(), executor: () => inline() },
  { asyncContext: true, name: 'memory × threads', storage: () => memoryStorage(), executor: () => inThreads() },
  // Idle workers resting in Atomics.wait: the same suite (~20 s more on this machine).
  { asyncContext: true, name: 'memory × threads (idleWait atomics)', storage: () => memoryStorage(), executor: () => inRestingThreads() },
  { asyncContext: true, name: 'file × inline', storage: () => fileStorage({ dir: fileDir() }), executor: () => inline() },
  { asyncContext: true, name: 'file × threads', storage: () => fileStorage({ dir: fileDir() }), executor: () => inThreads() },
  // Resting workers on durable storage: a run whose body waits for its lease ('go') keeps its
  // worker out of the rest, which memory storage never asks of it.
  { asyncContext: true, name: 'file × threads (idleWait atomics)', storage: () => fileStorage({ dir: fileDir() }), executor: () => inRestingThreads() },
  // In Node on fake-indexeddb; setup.browser.ts runs the suite on Chromium's real IndexedDB.
  {
    asyncContext: true,
    name: 'indexedDB × inline',
    storage: () => indexedDBStorage({ name: 'conformance', indexedDB: new IDBFactory() }),
    executor: () => inline(),
  },
  // The engine on a transport (a broker across processes) with an in-memory broker: the
  // transport mode alone, under the virtual clock. (With threads it is the same engine code as
  // 'bullmq × threads' below, which the suite runs; it passed too, and costs CI 8 minutes.)
  {
    asyncContext: true,
    name: 'loopback × inline',
    storage: () => memoryStorage(),
    transport(this: Combo, store = this.storage()) {
      return loopbackBroker(store).transport()
    },
    executor: () => inline(),
    gaps: loopbackGaps,
  },
  // The same through BullMQ's own classes (bullmqTransport), on the in-process BullMQ backend
  // under the virtual clock: the transport the app scales out with, without Redis.
  {
    asyncContext: true,
    name: 'bullmq × inline',
    storage: () => memoryStorage(),
    transport(this: Combo, store = this.storage(), clock) {
      return bullmqOn(store, clock)
    },
    executor: () => inline(),
    gaps: transportGaps,
  },
  {
    asyncContext: true,
    name: 'bullmq × threads',
    storage: () => memoryStorage(),
    transport(this: Combo, store = this.storage(), clock) {
      return bullmqOn(store, clock)
    },
    executor: () => inThreads(),
    gaps: transportGaps,
  },
  // The same on the local Redis: BullMQ's real queues, a redisStore, real-time locks. The virtual
  // clock starts at the real time (Redis expires results on its own) and waits for the broker
  // too (redis-broker.ts). Every scenario that holds on the other transports holds here.
  {
    asyncContext: true,
    name: 'redis × inline',
    unavailable: redisDown,
    storage: () => redisClusterStore(),
    transport(this: Combo, store = this.storage(), clock) {
      return redisTransport(store, clock)
    },
    clock: () => virtualClock({ now: Date.now() }),
    executor: () => inline(),
    gaps: redisGaps,
  },
]

/**
 * The combinations this run covers: all of them, or those whose names contain one of the
 * comma-separated words in CELERIAC_COMBOS (e.g. `CELERIAC_COMBOS=inline`, `=file`).
 */
const combos: readonly Combo[] = selectCombos(allCombos, process.env.CELERIAC_COMBOS)

/** Runs `body` once per combination, inside a describe named after it. */
export function forEachCombo(title: string, body: (combo: Combo) => void): void {
  forEachComboOf(combos, title, body, cleanup)
}
