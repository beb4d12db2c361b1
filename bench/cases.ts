/**
 * The benchmark cases: for each, celeriac and the peers measured the same way. Every
 * implementation runs in a fresh process (see case-runner.ts), so one's garbage and JIT state
 * never weigh on another. The measurements live in `cases/`, a file per group; this is the list
 * `run.ts` goes through, in order.
 */
import { availableParallelism } from 'node:os'
import { bullLatency, bullOnFile, bullOnMemory, bullOnRedis, bullThroughput } from './cases/bullmq-backend.js'
import { CELERY_PROCESSES, celeryThroughput, celeryUnavailable } from './cases/celery.js'
import {
  bullmqEndToEnd,
  bullmqEndToEndFsync,
  celeriacCompactionStall,
  celeriacFileEndToEnd,
  celeriacFileEnqueue,
  celeriacFileRecovery,
  celeriacProgressHeavy,
  rawFsyncFloor,
  redisServerFound,
} from './cases/file.js'
import { celeriacIndexedDBEnqueue, chromiumUnavailable } from './cases/indexeddb.js'
import {
  bullmqLatency,
  celeriacChain,
  celeriacChord,
  celeriacInline,
  celeriacLatency,
  celeriacPendingMemory,
  celeriacScale,
  celeriacScheduleMonth,
  celeriacVirtualMonth,
  pQueue,
} from './cases/memory.js'
import type { BenchCase } from './cases/shared.js'
import { redisUnavailable } from './cases/shared.js'
import {
  SHORT_TASKS_PREFETCH,
  SIZE,
  celeriacThreadsLatency,
  celeriacThreadsThroughput,
  celeriacThreadsThroughputWarm,
  piscinaLatency,
  piscinaThroughput,
  rawRoundTrip,
} from './cases/threads.js'
import { TRANSPORT_CONCURRENCY, transportThroughput } from './cases/transport.js'

export type { BenchCase, Measurement } from './cases/shared.js'

export const cases: readonly BenchCase[] = [
  {
    name: 'inline-throughput',
    title: 'inline + memory: trivial tasks sent all at once, until idle',
    sides:
      'celeriac: one app on memory storage, inline executor, queue concurrency 16, n `delay`s made at once, timed until `whenIdle()`. p-queue: concurrency 16, n `add`s of the same function, timed until `onIdle()`. Neither warms up; neither keeps results beyond the promise.',
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { celeriac: celeriacInline, 'p-queue (concurrency 16)': pQueue },
    target: { peer: 'p-queue (concurrency 16)', advantage: 1, text: '>= 1.0x p-queue' },
  },
  {
    name: 'latency',
    title: 'one task at a time: delay then get, round trip',
    sides:
      'celeriac: the embedded default (memory, inline), `await (await add.delay()).get()` per task. BullMQ: a Worker on the local Redis, `queue.add` then `job.waitUntilFinished(queueEvents)` per job, jobs kept until the end. Both warm up with 1,000 round trips first.',
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { celeriac: celeriacLatency, 'BullMQ (Redis)': bullmqLatency },
    unavailable: redisUnavailable,
  },
  {
    name: 'chord',
    title: 'a chord of 10k adds into a sum (memory, inline)',
    unit: 'ms',
    better: 'lower',
    size: { full: 10_000, quick: 1_000 },
    impls: { celeriac: celeriacChord },
    nodeFlags: ['--expose-gc'],
  },
  {
    name: 'chain',
    title: 'a chain of 1k adds (memory, inline)',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_000, quick: 200 },
    impls: { celeriac: celeriacChain },
  },
  {
    name: 'virtual-month',
    title: 'virtual clock: 10k tasks over 30 days, a quarter retrying with backoff, runAll',
    unit: 'ms',
    better: 'lower',
    size: { full: 10_000, quick: 2_000 },
    impls: { celeriac: celeriacVirtualMonth },
    goal: { at: 'most', value: 1_000, text: '<= 1 s' },
  },
  {
    name: 'schedule-month',
    title: 'virtual clock: n days of an every-minute schedule (1,440 slots a day; 30 days = 43,200), advance',
    unit: 'ms',
    better: 'lower',
    size: { full: 30, quick: 7 },
    impls: { celeriac: celeriacScheduleMonth },
    goal: { at: 'most', value: 500, text: '<= 0.5 s ("well under a second", issue 18)' },
  },
  {
    name: 'scale',
    title: 'pending delayed tasks in memory: enqueue time of n / n÷10 (1M / 100k)',
    unit: 'x',
    better: 'lower',
    size: { full: 1_000_000, quick: 200_000 },
    impls: { celeriac: celeriacScale },
    goal: { at: 'most', value: 12, text: '1M/100k <= 12x' },
    nodeFlags: ['--expose-gc', '--max-old-space-size=8192'],
    rounds: 3,
  },
  {
    name: 'pending-memory',
    title: 'memory per pending task (countdown 1 h, memory storage)',
    unit: 'bytes/task',
    better: 'lower',
    size: { full: 100_000, quick: 10_000 },
    impls: { celeriac: celeriacPendingMemory },
    goal: { at: 'most', value: 400, text: '<= 400 bytes per pending task' },
    nodeFlags: ['--expose-gc'],
    rounds: 3,
  },
  {
    name: 'threads-throughput',
    title: `worker threads (${SIZE}): trivial tasks sent all at once`,
    sides:
      "celeriac: `threads({ size: 2 })`, n `sendTask`s made at once, until idle; its executor keeps up to 4 tasks in flight per worker and batches their messages. piscina: 2 threads, n `run`s at once, with `concurrentTasksPerWorker: 4` (like for like; the target's peer) and with its default of 1. Both warm up with 1,000 tasks.",
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: {
      celeriac: celeriacThreadsThroughput,
      'piscina (4 tasks per worker)': (n) => piscinaThroughput(n, 4),
      'piscina (default: 1 task per worker)': (n) => piscinaThroughput(n, 1),
    },
    target: { peer: 'piscina (4 tasks per worker)', advantage: 2, text: '>= 2x piscina (4 tasks per worker, as celeriac)' },
  },
  {
    name: 'threads-throughput-warm',
    title: `worker threads (${SIZE}): trivial tasks sent all at once, the second burst (warm)`,
    sides:
      "As the case above (celeriac's prefetch 4, piscina's `concurrentTasksPerWorker` 4), each side warmed up with 1,000 tasks and then one unmeasured burst of the same n, and timed on the next: the speed of a process that has run the work before. The case above times the first burst after start, which pays for the JIT and the heap's growth: on celeriac's side V8 finishes optimizing some 230 functions during it (30 during the 1,000-task warm-up), and its young-generation collections take 1.3x the main thread's time they take in the second burst. No target: the target is on the case above.",
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: {
      celeriac: celeriacThreadsThroughputWarm,
      'piscina (4 tasks per worker)': (n) => piscinaThroughput(n, 4, 1),
    },
  },
  {
    name: 'threads-throughput-short',
    title: `worker threads (${SIZE}): trivial tasks sent all at once, each side set for many short tasks`,
    sides: `celeriac: \`threads({ size: 2, prefetch: ${SHORT_TASKS_PREFETCH} })\`, as Celery's optimizing guide advises for many short tasks ("say 64, or 128"; its default of 4 suits long tasks), otherwise as the case above. piscina: 2 threads with \`concurrentTasksPerWorker: ${SHORT_TASKS_PREFETCH}\` (the same window: like for like; the target's peer) and with its default of 1, which its docs advise for tasks with no asynchronous part. Both warm up with 1,000 tasks.`,
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: {
      celeriac: (n) => celeriacThreadsThroughput(n, SHORT_TASKS_PREFETCH),
      [`piscina (${SHORT_TASKS_PREFETCH} tasks per worker)`]: (n) => piscinaThroughput(n, SHORT_TASKS_PREFETCH),
      'piscina (default: 1 task per worker)': (n) => piscinaThroughput(n, 1),
    },
    target: {
      peer: `piscina (${SHORT_TASKS_PREFETCH} tasks per worker)`,
      advantage: 2,
      text: `>= 2x piscina (${SHORT_TASKS_PREFETCH} tasks per worker, as celeriac)`,
    },
  },
  {
    name: 'threads-latency',
    title: `worker threads (${SIZE}): one task at a time, round trip p50`,
    sides:
      'celeriac: `threads({ size: 2 })`, `sendTask` then `get()` per task; an idle worker looks for the next task itself for 50 µs before it sleeps (`idleSpin`, default). piscina: 2 threads, `await pool.run()` per task. raw: one Worker, `postMessage` and the reply. Each warms up with 1,000 first.',
    unit: 'ms',
    better: 'lower',
    size: { full: 5_000, quick: 500 },
    impls: { celeriac: celeriacThreadsLatency, piscina: piscinaLatency, 'raw postMessage': rawRoundTrip },
    // Issue 20's target is against piscina (and <= 1.5x the raw round trip, read off the table):
    // on this kind of VM the raw round trip is ~0.018 or ~0.05 ms by the minute, so a verdict
    // against it alone said "met" whenever its rounds ran in the slow mode.
    target: { peer: 'piscina', advantage: 1, text: "p50 <= piscina's" },
  },
  {
    name: 'threads-latency-atomics',
    title: `worker threads (${SIZE}): one task at a time, idle workers waiting in Atomics.wait, round trip p50`,
    sides:
      "celeriac: `threads({ size: 2, idleWait: 'atomics' })`, `sendTask` then `get()` per task: an idle worker spins 50 µs (`idleSpin`, default), then waits in `Atomics.wait`, and takes the next task off its port itself. piscina: 2 threads at its default, which waits so (`atomics: 'sync'`), `await pool.run()` per task. raw: one Worker, `postMessage` and the reply (its event loop wakes it). Each warms up with 1,000 first.",
    unit: 'ms',
    better: 'lower',
    size: { full: 5_000, quick: 500 },
    impls: { celeriac: (n) => celeriacThreadsLatency(n, 'atomics'), piscina: piscinaLatency, 'raw postMessage': rawRoundTrip },
    target: { peer: 'piscina', advantage: 1, text: "p50 <= piscina's" },
  },
  {
    name: 'file-end-to-end',
    title: 'durable end to end: file storage (fsync) vs BullMQ on local Redis, concurrency 16',
    sides:
      "celeriac: file storage with fsync on (every send and every result durable before it is acknowledged), inline executor, concurrency 16, app started before the clock; n `delay`s at once until idle. BullMQ: a Worker at concurrency 16 on the local Redis, ready before the clock; `addBulk` in batches of 1,000 until the last 'completed', with completed jobs and results kept (as celeriac keeps results: the target's peer) and with `removeOnComplete`. The local Redis persists nothing (no AOF, no fsync); the `appendfsync always` row runs the first configuration on a second Redis the bench starts (and stops by pid) with `appendonly yes` and `appendfsync always`, so each write is fsynced before Redis answers, as celeriac's are.",
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 20_000, quick: 2_000 },
    impls: {
      celeriac: celeriacFileEndToEnd,
      'BullMQ (Redis)': (n) => bullmqEndToEnd(n, true),
      'BullMQ (Redis, removeOnComplete)': (n) => bullmqEndToEnd(n, false),
      // Like for like on durability: a Redis of the bench's own that fsyncs every write.
      ...(redisServerFound ? { 'BullMQ (Redis, appendfsync always)': bullmqEndToEndFsync } : {}),
    },
    target: { peer: 'BullMQ (Redis)', advantage: 3, text: '>= 3x BullMQ (results kept, as celeriac)' },
    unavailable: redisUnavailable,
  },
  {
    name: 'progress-heavy',
    title: 'file storage (fsync), inline, concurrency 16: tasks reporting 100 progress steps each',
    sides:
      'celeriac alone: n `delay`s at once of a task that reports `self.progress(i, 100)` after each of 100 turns of the event loop; tasks/s until idle, and the journal bytes left (stored progress is coalesced to one write per run per 50 ms).',
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 2_000, quick: 200 },
    impls: { celeriac: celeriacProgressHeavy },
  },
  {
    name: 'file-enqueue',
    title: 'durable enqueue on file storage (fsync), sends made at once',
    sides:
      'celeriac: a `consume: false` app on file storage (fsync), n `delay`s at once until all resolved. floor: the same n records serialized, one write and one fdatasync.',
    unit: 'sends/s',
    better: 'higher',
    size: { full: 50_000, quick: 5_000 },
    impls: { celeriac: celeriacFileEnqueue, 'raw write + fdatasync floor': rawFsyncFloor },
  },
  {
    name: 'indexeddb-enqueue',
    title: 'durable enqueue on IndexedDB in Chromium, sends made at once, vs one raw transaction of as many records in the same page',
    unit: 'x the floor',
    better: 'higher',
    size: { full: 10_000, quick: 2_000 },
    impls: { celeriac: celeriacIndexedDBEnqueue },
    goal: { at: 'least', value: 0.8, text: '>= 0.8x the raw one-transaction floor' },
    unavailable: chromiumUnavailable,
  },
  {
    name: 'file-recovery',
    title: 'file storage: open (recover) a journal of queued messages',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_000_000, quick: 100_000 },
    impls: { celeriac: celeriacFileRecovery },
    goal: { at: 'most', value: 2_000, text: '<= 2 s for 1M records (issue 20)' },
  },
  {
    name: 'file-compaction',
    title: 'file storage: compacting n MiB of live JSON while calls go on, longest event-loop stall',
    unit: 'ms',
    better: 'lower',
    size: { full: 1_024, quick: 64 },
    impls: { celeriac: celeriacCompactionStall },
    goal: { at: 'most', value: 50, text: '<= 50 ms' },
    nodeFlags: ['--max-old-space-size=4096'],
    rounds: 3,
  },
  {
    name: 'bullmq-throughput-memory',
    title: 'BullMQ backend on memory storage vs BullMQ on local Redis: addBulk n jobs, then one Worker (concurrency 16) until all completed',
    unit: 'jobs/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { 'celeriac/bullmq (memory)': (n) => bullThroughput(bullOnMemory, n), 'BullMQ (Redis)': (n) => bullThroughput(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 3, text: '>= 3x BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-throughput-file',
    title: 'BullMQ backend on file storage (fsync) vs BullMQ on local Redis: addBulk n jobs, then one Worker (concurrency 16) until all completed',
    unit: 'jobs/s',
    better: 'higher',
    size: { full: 100_000, quick: 10_000 },
    impls: { 'celeriac/bullmq (file)': (n) => bullThroughput(bullOnFile, n), 'BullMQ (Redis)': (n) => bullThroughput(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 1, text: '>= 1x BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-latency-memory',
    title: "BullMQ backend on memory storage vs BullMQ on local Redis: one job at a time, add to the Worker's completed event, p50",
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { 'celeriac/bullmq (memory)': (n) => bullLatency(bullOnMemory, n), 'BullMQ (Redis)': (n) => bullLatency(bullOnRedis, n) },
    target: { peer: 'BullMQ (Redis)', advantage: 5, text: 'p50 >= 5x lower than BullMQ on Redis' },
    unavailable: redisUnavailable,
  },
  {
    name: 'bullmq-latency-file',
    title: "BullMQ backend on file storage (fsync) vs BullMQ on local Redis: one job at a time, add to the Worker's completed event, p50",
    unit: 'ms',
    better: 'lower',
    size: { full: 2_000, quick: 200 },
    impls: { 'celeriac/bullmq (file)': (n) => bullLatency(bullOnFile, n), 'BullMQ (Redis)': (n) => bullLatency(bullOnRedis, n) },
    unavailable: redisUnavailable,
  },
  ...[1, 2].map(
    (workers): BenchCase => ({
      name: `transport-${String(workers)}-worker${workers === 1 ? '' : 's'}`,
      title: `bullmqTransport vs raw BullMQ on local Redis, ${String(workers)} worker process${workers === 1 ? '' : 'es'} (concurrency ${String(TRANSPORT_CONCURRENCY)} each): n trivial tasks sent, then processed`,
      unit: 'tasks/s',
      better: 'higher',
      size: { full: 20_000, quick: 2_000 },
      impls: {
        'celeriac (bullmqTransport)': (n) => transportThroughput('celeriac', workers, n),
        'BullMQ (Redis)': (n) => transportThroughput('raw', workers, n),
      },
      target: { peer: 'BullMQ (Redis)', advantage: 0.8, text: '>= 0.8x raw BullMQ' },
      unavailable: redisUnavailable,
    }),
  ),
  {
    name: 'celery-python-callers',
    title: `serving Python callers: a celeriac worker (celeryTransport, concurrency ${String(TRANSPORT_CONCURRENCY)}) vs a Celery prefork worker (-c ${String(CELERY_PROCESSES)}), n trivial tasks sent with send_task, until every result is read`,
    unit: 'tasks/s',
    better: 'higher',
    size: { full: 10_000, quick: 1_000 },
    impls: {
      'celeriac (celeryTransport)': (n) => celeryThroughput('celeriac', n),
      [`Celery 5 prefork (-c ${String(CELERY_PROCESSES)})`]: (n) => celeryThroughput('celery', n),
    },
    target: { peer: `Celery 5 prefork (-c ${String(CELERY_PROCESSES)})`, advantage: 1, text: ">= 1x Celery's prefork worker" },
    unavailable: celeryUnavailable,
  },
]

/** For the record: the machine the numbers came from. */
export function machine(): Record<string, string | number> {
  return { node: process.version, cpus: availableParallelism(), platform: `${process.platform}-${process.arch}` }
}
