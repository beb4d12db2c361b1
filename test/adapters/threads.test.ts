/**
 * The worker_threads executor's own faults: load failures, crashes, out of memory, busy loops,
 * terminate and time limits, with real worker threads. The shared scenarios run on it in
 * test/conformance; this file covers what only a worker executor has.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, ConfigError, TaskRevokedError, TimeLimitExceeded, WorkerLostError } from '../../src/index.js'
import { threads } from '../../src/node.js'
import type { ThreadsOptions } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'
import { PaymentDeclined } from './fixtures/fault-tasks.js'

const faults = new URL('./fixtures/fault-tasks.ts', import.meta.url)
let app: Celeriac | undefined

afterEach(async () => {
  await app?.stop({ timeout: 2_000 })
  app = undefined
})

async function start(options: Partial<ThreadsOptions> = {}) {
  const executor = threads({ module: faults, size: 2, ...options })
  app = new Celeriac({ executor })
  await app.start()
  return { app, executor }
}

/** Waits (bounded) until the pool has `size` healthy workers again: replacements boot in real time. */
async function poolRestored(executor: { workers: number }, size: number): Promise<void> {
  for (let i = 0; i < 500 && executor.workers < size; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(executor.workers).toBe(size)
}

describe('threads executor: loading', () => {
  it('fails start() with a ConfigError naming the module and the cause when the module throws', async () => {
    const broken = new Celeriac({ executor: threads({ module: new URL('./fixtures/broken-module.ts', import.meta.url), size: 1 }) })
    const error = await broken.start().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('broken-module.ts')
    expect((error as Error).message).toContain('this module is broken on purpose')
  })

  it('fails start() when the module registers no tasks', async () => {
    const empty = new Celeriac({ executor: threads({ module: new URL('./fixtures/empty-module.ts', import.meta.url), size: 1 }) })
    await expect(empty.start()).rejects.toThrow(/registered no tasks/)
  })

  it('knows the task names the workers registered, so the main thread can send them by name', async () => {
    const { app } = await start()
    expect(app.registered()).toContain('fault.ok')
    expect(await (await app.sendTask('fault.ok', [21])).get()).toBe(42)
  })

  it('rejects a size that is not a whole number >= 1', () => {
    expect(() => threads({ module: faults, size: 0 })).toThrow(ConfigError)
  })
})

describe('threads executor: faults', () => {
  it('a custom error class registered in both realms arrives as itself', async () => {
    const { app } = await start()
    const error = await (await app.sendTask('fault.declined')).get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PaymentDeclined)
    expect((error as PaymentDeclined).retryAfter).toBe(30)
  })

  it('a worker that exits fails its task with WorkerLostError and is replaced', async () => {
    const { app, executor } = await start()
    const lost = await (await app.sendTask('fault.exit')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    await poolRestored(executor, 2)
    expect(await (await app.sendTask('fault.ok', [1])).get()).toBe(2)
  })

  it('an error thrown at the top level of a worker fails its task with WorkerLostError', async () => {
    const { app, executor } = await start()
    const lost = await (await app.sendTask('fault.throw-top-level')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    expect((lost as Error).message).toContain('thrown outside the task')
    await poolRestored(executor, 2)
  })

  it('a worker that runs out of memory fails its task with WorkerLostError', async () => {
    const { app, executor } = await start({ resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } })
    const lost = await (await app.sendTask('fault.oom')).get().catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(WorkerLostError)
    await poolRestored(executor, 2)
  })

  // A busy task never lets a virtual clock settle, so the limits below run on the real clock
  // (50 ms; nothing here asserts how long anything took).
  it('the hard time limit stops a synchronous busy loop by terminating the worker', async () => {
    const { app, executor } = await start()
    const r = await app.sendTask('fault.spin', [], { timeLimit: 50 })
    await expect(r.get()).rejects.toBeInstanceOf(TimeLimitExceeded)
    await poolRestored(executor, 2)
  })

  it('revoke with terminate stops a busy loop; the task is REVOKED', async () => {
    const { app, executor } = await start()
    const r = await app.sendTask('fault.spin')
    while ((await r.state()) !== 'STARTED') await new Promise((resolve) => setTimeout(resolve, 5))
    await r.revoke({ terminate: true })
    expect(await r.state()).toBe('REVOKED')
    await expect(r.get()).rejects.toBeInstanceOf(TaskRevokedError)
    await poolRestored(executor, 2)
  })

  it('revoke without terminate aborts self.signal inside the worker; the task ends on its own', async () => {
    const clock = virtualClock()
    app = new Celeriac({ clock, executor: threads({ module: faults, size: 2 }) })
    await app.start()
    const lines: string[] = []
    app.events.on('log', (e) => lines.push(e.text))
    const r = await app.sendTask('fault.cooperative', [], { softTimeLimit: 120 })
    await clock.advance(200)
    expect(await r.get()).toBe('stopped')
    expect(lines).toContain('aborted: SoftTimeLimitExceeded')
  })

  it('acksLate with rejectOnWorkerLost re-queues the task of a dead worker; it runs again', async () => {
    const { app } = await start()
    const r = await app.sendTask('fault.late')
    expect(await r.get()).toBe('second time lucky')
  })

  it('survives 100 consecutive worker faults of mixed kinds, every task accounted for', async () => {
    const { app, executor } = await start({ resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } })
    const kinds = ['exit', 'throw-top-level', 'spin-limit', 'spin-terminate', 'oom'] as const
    for (let i = 0; i < 100; i++) {
      const kind = kinds[i % kinds.length]!
      let state: string
      let error: unknown
      if (kind === 'spin-limit') {
        const r = await app.sendTask('fault.spin', [], { timeLimit: 50 })
        error = await r.get().catch((e: unknown) => e)
        state = await r.state()
        expect(error, kind).toBeInstanceOf(TimeLimitExceeded)
      } else if (kind === 'spin-terminate') {
        const r = await app.sendTask('fault.spin')
        while ((await r.state()) !== 'STARTED') await new Promise((resolve) => setTimeout(resolve, 2))
        await r.revoke({ terminate: true })
        error = await r.get().catch((e: unknown) => e)
        state = await r.state()
        expect(error, kind).toBeInstanceOf(TaskRevokedError)
      } else {
        const r = await app.sendTask(`fault.${kind}`)
        error = await r.get().catch((e: unknown) => e)
        state = await r.state()
        expect(error, kind).toBeInstanceOf(WorkerLostError)
      }
      expect(state, `${kind} #${String(i)}`).toMatch(/^(FAILURE|REVOKED)$/)
      await poolRestored(executor, 2)
    }
    expect(executor.replaced).toBeGreaterThanOrEqual(100)
    expect(await (await app.sendTask('fault.ok', [5])).get()).toBe(10)
  }, 180_000)
})
