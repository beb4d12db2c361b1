/**
 * The worker_threads executor's own faults: load failures, crashes, out of memory, busy loops,
 * terminate and time limits, with real worker threads. The shared scenarios run on it in
 * test/conformance; this file covers what only a worker executor has (the 100-fault run is in
 * threads-faults.test.ts, so that the two run side by side).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { Celeriac, ConfigError, TaskRevokedError, TimeLimitExceeded, WorkerLoadError, WorkerLostError, states } from '../../src/index.js'
import { threads } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'
import { CardDeclined } from './fixtures/fault-tasks.js'
import { OOM_LIMITS, compiledFaults, eventLog, failsWith, faults, poolRestored, start, stopAfterTest, stopAppsAfterEach } from './threads-harness.js'
import { WIRE_VERSION } from '../../src/core/executor/wire.js'
import { decodeError } from '../../src/core/serializer/decode.js'
import type { Encoded } from '../../src/core/model/json.js'
import { bundledThreads } from '../workers/bundled.js'

stopAppsAfterEach()

/** The start() error of an app whose workers load `module`: at once, not after loadTimeout. */
async function startError(module: URL): Promise<ConfigError> {
  const error = await new Celeriac({ executor: threads({ module, size: 1, loadTimeout: 600_000 }) }).start().then(
    () => expect.unreachable('start() should have failed'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConfigError)
  expect((error as ConfigError).code).toBe('CONFIG')
  expect((error as Error).message).toContain(module.href)
  return error as ConfigError
}

describe('threads executor: loading', () => {
  it('fails start() with a ConfigError naming the module and the cause when the module throws', async () => {
    const error = await startError(new URL('./fixtures/broken-module.ts', import.meta.url))
    expect(error.message).toContain('this module is broken on purpose')
  })

  it('fails start() with a ConfigError naming the module when the module registers no tasks', async () => {
    const error = await startError(new URL('./fixtures/empty-module.ts', import.meta.url))
    expect(error.message).toContain('registered no tasks')
  })

  it('fails start() with a ConfigError naming the module and the exit code when a worker exits while loading it', async () => {
    const error = await startError(new URL('./fixtures/exit-on-load.ts', import.meta.url))
    expect(error.message).toContain('a worker exited before loading')
    expect(error.message).toContain('exit code 7')
  })

  it.each([
    ['an absolute path', () => fileURLToPath(faults)],
    ['a path relative to the working directory', () => relative(process.cwd(), fileURLToPath(faults))],
    ['a file: URL string', () => faults.href],
  ])('takes the module as %s', async (_label, module) => {
    const executor = threads({ module: module(), size: 1 })
    const app = stopAfterTest(new Celeriac({ executor }))
    await app.start()
    expect(await (await app.sendTask('fault.ok', [4])).get()).toBe(8)
  })

  it('knows the task names the workers registered, so the main thread can send them by name', async () => {
    const { app } = await start()
    expect(app.registered()).toContain('fault.ok')
    expect(await (await app.sendTask('fault.ok', [21])).get()).toBe(42)
  })

  it.each([
    [
      'from before the reports port (its hello on the parentPort, no version)',
      new URL('./fixtures/entry-before-reports-port.ts', import.meta.url),
      'a version from before versions were said',
    ],
    ['of another protocol version', new URL('./fixtures/entry-other-wire.ts', import.meta.url), 'version 999'],
  ])('fails start() at once with a ConfigError saying what to do when workerUrl is a worker entry %s', async (_label, workerUrl, said) => {
    const began = Date.now()
    const error = await new Celeriac({ executor: threads({ module: compiledFaults.module, workerUrl, size: 1, loadTimeout: 600_000 }) }).start().then(
      () => expect.unreachable('start() should have failed'),
      (e: unknown) => e,
    )
    expect(Date.now() - began).toBeLessThan(15_000)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect((error as Error).message).toBe(
      `threads: a worker loading ${compiledFaults.module.href} speaks ${said} of celeriac's worker protocol, and this celeriac speaks version ${String(WIRE_VERSION)}: its worker entry comes from another celeriac (another version or build); point threads({ workerUrl }) (now ${fileURLToPath(workerUrl)}) at the 'celeriac/node-worker' entry of the celeriac this app runs (the same version and build), or leave workerUrl out to use celeriac's own`,
    )
  })

  it.each([
    ['on its reports port', true],
    ['on the parentPort, where pools before the reports port listened', false],
  ])("celeriac's worker entry started by a pool that says no protocol version refuses at once %s", async (_label, withReports) => {
    // As a pool of a celeriac from before protocol versions starts a worker.
    const { port1, port2 } = new MessageChannel()
    const worker = new Worker(compiledFaults.workerUrl, {
      workerData: { module: compiledFaults.module.href, concurrency: 1, ...(withReports ? { reports: port2 } : {}) },
      transferList: withReports ? [port2] : [],
    })
    try {
      const hello = await new Promise<unknown>((resolve) => (withReports ? port1 : worker).once('message', resolve))
      expect(hello).toMatchObject({ type: 'init-failed', wire: WIRE_VERSION })
      const error = decodeError((hello as { error: Encoded }).error)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toContain('the pool that started it speaks a version from before versions were said')
      expect(error.message).toContain("point threads({ workerUrl }) at the 'celeriac/node-worker' entry of the celeriac the app runs")
    } finally {
      port1.close()
      await worker.terminate()
    }
  })

  it('rejects a size that is not a whole number >= 1', () => {
    expect(() => threads({ module: faults, size: 0 })).toThrow(ConfigError)
  })
})

describe('threads executor: tasks per worker', () => {
  /** Sends `n` fault.hold tasks of `ms` each; returns their handles and, per started one, its thread. */
  async function holds(target: Celeriac, n: number, ms: number) {
    const threadOf = new Map<string, string>()
    target.events.on('log', (e) => threadOf.set(e.id, e.text.split(' on ')[1]!))
    const runs = []
    for (let i = 0; i < n; i++) runs.push(await target.sendTask<number>('fault.hold', [`h${String(i)}`, ms]))
    return { runs, threadOf }
  }

  /** How many of `ids` run on each thread, largest first. */
  function perThread(ids: readonly string[], threadOf: Map<string, string>): number[] {
    const counts = new Map<string, number>()
    for (const id of ids) {
      const thread = threadOf.get(id)!
      counts.set(thread, (counts.get(thread) ?? 0) + 1)
    }
    return [...counts.values()].sort((a, b) => b - a)
  }

  it.each([
    // Celery prefork: one task per worker process; the others wait, prefetched.
    ['one task per worker at a time by default', undefined, [1, 1], [1_000, 1_000, 2_000, 2_000, 3_000]],
    ['two tasks per worker at once with tasksPerWorker: 2', 2, [2, 2], [1_000, 1_000, 1_000, 1_000, 2_000]],
  ] as const)('runs %s', async (_title, tasksPerWorker, perWorker, finished) => {
    const sent = finished.length
    const clock = virtualClock()
    const { app } = await start(tasksPerWorker === undefined ? {} : { tasksPerWorker }, clock)
    const t0 = clock.now()
    const done: number[] = []
    app.events.on('task-succeeded', (e) => done.push(e.timestamp - t0))
    const { runs, threadOf } = await holds(app, sent, 1_000)
    await clock.advance(0)
    const active = app.inspect.active().map((t) => t.id)
    expect(perThread(active, threadOf)).toEqual(perWorker)
    expect(app.inspect.reserved()).toHaveLength(sent - active.length)
    await clock.runAll()
    expect(new Set(await Promise.all(runs.map((r) => r.get()))).size).toBe(2)
    expect(done).toEqual(finished)
  })

  it('runs every task with prefetch: 64, as advised for many short tasks, still one at a time per worker', async () => {
    const clock = virtualClock()
    const { app } = await start({ prefetch: 64 }, clock)
    const t0 = clock.now()
    let last = 0
    app.events.on('task-succeeded', (e) => {
      last = e.timestamp - t0
    })
    const { runs } = await holds(app, 200, 1_000)
    await clock.advance(0)
    expect(app.inspect.active()).toHaveLength(2)
    await clock.runAll()
    const threadIds = await Promise.all(runs.map((r) => r.get()))
    expect(threadIds).toHaveLength(200)
    expect(new Set(threadIds).size).toBe(2)
    // 100 one-second tasks on each worker, back to back: the held runs never wait a round trip.
    expect(last).toBe(100_000)
  })
})

describe('threads executor: one id, two runs', () => {
  it('a send of a taskId whose earlier run still runs its hooks starts once they are done, and leaves the books right', async () => {
    // One worker running up to four tasks at once: the queue's concurrency is the pool's four.
    const clock = virtualClock()
    const { app } = await start({ size: 1, tasksPerWorker: 4, prefetch: 1 }, clock)
    const lines: string[] = []
    app.events.on('log', (e) => lines.push(e.text))
    // Its afterReturn sends the same id again (no result is stored, so that is a new message).
    await app.sendTask('fault.resend-in-hooks', ['first'], { taskId: 'dup' })
    await clock.runAll()
    expect(lines).toEqual(['body first', 'hooks after first', 'body second', 'hooks after second'])
    // Nothing of the two runs is left on the books (the engine's queue slots, the pool's held
    // runs): four tasks of a second each run at once.
    const t0 = clock.now()
    const ends: number[] = []
    app.events.on('task-succeeded', (e) => ends.push(e.timestamp - t0))
    const holds = []
    for (let i = 0; i < 4; i++) holds.push(await app.sendTask('fault.hold', [`h${String(i)}`, 1_000]))
    await clock.runAll()
    await Promise.all(holds.map((h) => h.get()))
    expect(ends).toEqual([1_000, 1_000, 1_000, 1_000])
  })

  it('a worker lost while a run runs its hooks: the run leaves, its slot is free and its id runs again', async () => {
    const clock = virtualClock()
    const { app } = await start({ size: 1, tasksPerWorker: 1, prefetch: 1 }, clock)
    const succeeded: string[] = []
    app.events.on('task-succeeded', (e) => succeeded.push(e.id))
    // Its afterReturn ends the worker: the pool says the run is lost; no 'finished' comes.
    await app.sendTask('fault.exit-in-hooks', [], { taskId: 'gone' })
    await clock.runAll()
    expect(succeeded).toEqual(['gone'])
    // The one slot is free (a second task runs) and the id is free (its send runs again).
    const next = await app.sendTask('fault.hold', ['after', 1_000])
    await app.sendTask('fault.exit-in-hooks', [], { taskId: 'gone' })
    await clock.runAll()
    await next.get()
    expect(succeeded).toEqual(['gone', next.id, 'gone'])
  })
})

// Each with workers that wait in their event loop and with resting ones (their rests never end
// by themselves here: the harness's REST_FOR_TESTS), so that terminate ends a resting worker.
describe.each(['event-loop', 'atomics'] as const)('threads executor: faults (idleWait: %s)', (idleWait) => {
  it('a custom error class registered in both realms arrives as itself', async () => {
    const { app } = await start({ idleWait })
    const error = await (await app.sendTask('fault.declined')).get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CardDeclined)
    expect((error as CardDeclined).retryAfter).toBe(30)
  })

  it('a worker that exits fails its task with WorkerLostError and is replaced', async () => {
    const { app, executor } = await start({ idleWait })
    const lost = await (await app.sendTask('fault.exit')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    await poolRestored(executor, 2)
    expect(await (await app.sendTask('fault.ok', [1])).get()).toBe(2)
  })

  it('a run its worker finished just before it exited keeps its outcome; the run that exited fails with WorkerLostError', async () => {
    // One worker, both runs in one batch: the first one's outcome is posted before the second's
    // body exits the thread, and must be taken even when the worker's end is heard first.
    const { app } = await start({ idleWait, size: 1 })
    const [ok, exits] = await Promise.all([app.sendTask('fault.ok', [21]), app.sendTask('fault.exit')])
    expect(await ok.get()).toBe(42)
    expect(await exits.get().catch((e: unknown) => e)).toBeInstanceOf(WorkerLostError)
  })

  it('an error thrown at the top level of a worker fails its task with WorkerLostError', async () => {
    const { app, executor } = await start({ idleWait })
    const lost = await (await app.sendTask('fault.throw-top-level')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    expect((lost as Error).message).toContain('thrown outside the task')
    await poolRestored(executor, 2)
  })

  it('a worker that runs out of memory fails its task with WorkerLostError', async () => {
    const { app, executor } = await start({ resourceLimits: OOM_LIMITS, idleWait })
    const lost = await (await app.sendTask('fault.oom')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    await poolRestored(executor, 2)
  })

  // A busy task never lets a virtual clock settle, so the limits below run on the real clock
  // (50 ms; nothing here asserts how long anything took).
  it('the hard time limit stops a synchronous busy loop by terminating the worker', async () => {
    const { app, executor } = await start({ idleWait })
    const r = await app.sendTask('fault.spin', [], { timeLimit: 50 })
    await expect(r.get()).rejects.toBeInstanceOf(TimeLimitExceeded)
    await poolRestored(executor, 2)
  })

  it('revoke with terminate ends the worker running a busy loop (it is replaced); the task is REVOKED', async () => {
    const { app, executor } = await start({ idleWait })
    const r = await app.sendTask('fault.spin')
    while ((await r.state()) !== 'STARTED') await new Promise((resolve) => setTimeout(resolve, 5))
    await r.revoke({ terminate: true })
    expect(await r.state()).toBe('REVOKED')
    const error = await failsWith(r, states.REVOKED, TaskRevokedError, 'terminated')
    expect((error as TaskRevokedError).reason).toBe('terminated')
    await poolRestored(executor, 2)
    expect(executor.replaced).toBe(1)
  })

  it('a soft time limit aborts self.signal inside the worker; the task catches it and ends on its own', async () => {
    const clock = virtualClock()
    const { app } = await start({ idleWait }, clock)
    const lines: string[] = []
    app.events.on('log', (e) => lines.push(e.text))
    const r = await app.sendTask('fault.cooperative', [], { softTimeLimit: 120 })
    await clock.advance(200)
    expect(await r.get()).toBe('stopped')
    expect(lines).toContain('aborted: SoftTimeLimitExceeded')
  })

  it('acksLate with rejectOnWorkerLost re-queues the task of a dead worker (task-rejected, no task-failed); it runs again', async () => {
    const { app } = await start({ idleWait })
    const events = eventLog(app)
    const r = await app.sendTask('fault.late')
    expect(await r.get()).toBe('second time lucky')
    expect(events.of(r.id)).toEqual(['task-received', 'task-started', 'task-rejected', 'task-received', 'task-started', 'task-succeeded'])
  })

  it('acksLate without rejectOnWorkerLost: a worker lost mid-task fails it with WorkerLostError, it is not run again (Celery acks it as failed)', async () => {
    const { app, executor } = await start({ idleWait })
    const events = eventLog(app)
    const r = await app.sendTask('fault.late-no-requeue')
    const error = await failsWith(r, states.FAILURE, WorkerLostError, 'acksLate')
    expect(error.message).toContain('exit code 4')
    await poolRestored(executor, 2)
    await app.whenIdle()
    expect(await r.state()).toBe(states.FAILURE)
    expect(events.of(r.id)).toEqual(['task-received', 'task-started', 'task-failed'])
  })
})

describe('threads executor: a pool that cannot load its module', () => {
  /** The flaky-load fixture with its own counter file: `fails` loads from now on fail. */
  function flakyModule(): { module: URL; failNext(fails: number): void } {
    const counter = join(mkdtempSync(join(tmpdir(), 'celeriac-flaky-')), 'loads-to-fail')
    writeFileSync(counter, '0')
    const module = new URL('./fixtures/flaky-load.ts', import.meta.url)
    module.searchParams.set('counter', counter)
    return { module, failNext: (fails) => writeFileSync(counter, String(fails)) }
  }

  // loadTimeout also bounds one load in real time: a minute is far above a worker's load here.
  async function startFlaky(loadBackoff: { initial: number; max: number }) {
    const flaky = flakyModule()
    const clock = virtualClock()
    const compiled = bundledThreads(flaky.module)
    const executor = threads({ ...compiled, size: 1, loadTimeout: 60_000, loadBackoff })
    const app = stopAfterTest(new Celeriac({ clock, executor }))
    await app.start()
    return { app, clock, flaky, module: compiled.module }
  }

  it('replaces a dead worker whose replacement fails to load twice: the loads are retried with backoff and the waiting task runs', async () => {
    const { app, clock, flaky } = await startFlaky({ initial: 100, max: 400 })
    flaky.failNext(2)
    const lost = await (await app.sendTask('flaky.exit')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    const r = await app.sendTask<number>('flaky.ok', [41])
    await clock.runAll()
    expect(await r.state()).toBe(states.SUCCESS)
    expect(await r.get()).toBe(42)
    expect(app.inspect.stats().pool).toMatchObject({ size: 1, live: 1, loading: 0, failedLoads: 2, replaced: 1, nextLoadAt: null, failing: false })
    expect(app.inspect.stats().pool?.lastLoadError).toContain('flaky load: 1 more to fail')
  })

  it('fails the waiting tasks with WorkerLoadError naming the module after loadTimeout, new ones at once, and runs tasks again once the module loads', async () => {
    const { app, clock, flaky, module } = await startFlaky({ initial: 10_000, max: 20_000 })
    flaky.failNext(1_000_000)
    await (await app.sendTask('flaky.exit')).get().catch(() => undefined)
    const t0 = clock.now()
    const waiting = [await app.sendTask('flaky.ok', [1]), await app.sendTask('flaky.ok', [2])]
    await clock.runAll()
    // Loads failed at +0, +10 s, +30 s and +50 s; the tasks fail at +60 s, and with nothing left
    // waiting, runAll does not chase the next retry.
    expect(clock.now() - t0).toBe(60_000)
    for (const r of waiting) {
      const error = await failsWith(r, states.FAILURE, WorkerLoadError, 'waited')
      expect((error as WorkerLoadError).module).toBe(module.href)
      expect(error.message).toContain('within loadTimeout (60000 ms')
      expect(error.message).toContain('more to fail')
    }
    const pool = app.inspect.stats().pool!
    expect(pool).toMatchObject({ size: 1, live: 0, failing: true, replaced: 1 })
    expect(pool.failedLoads).toBe(4)
    // Failing: a new task fails at once (the engine clock does not move).
    const now = clock.now()
    await failsWith(await app.sendTask('flaky.ok', [3]), states.FAILURE, WorkerLoadError, 'sent while failing')
    expect(clock.now()).toBe(now)
    // The module loads again: the pool's next try (20 s at most) heals it.
    flaky.failNext(0)
    await clock.advance(20_000)
    for (let i = 0; i < 500 && app.inspect.stats().pool?.live !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(app.inspect.stats().pool).toMatchObject({ live: 1, failing: false })
    expect(await (await app.sendTask<number>('flaky.ok', [4])).get()).toBe(5)
  })
})
