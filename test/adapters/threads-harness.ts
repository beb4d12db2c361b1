/**
 * What the threads executor's fault tests share: the fault tasks compiled once, an app on them
 * (stopped after each test), and the checks of how a task ended and of the pool's recovery.
 */
import { afterEach, expect } from 'vitest'
import { Celeriac } from '../../src/index.js'
import type { AsyncResult, CeleriacEvents, ErrorClass, State } from '../../src/index.js'
import type { ThreadsOptions } from '../../src/node.js'
import { threadsExecutor } from '../../src/adapters/node/threads.js'
import type { VirtualClock } from '../../src/testing.js'
import { bundledThreads } from '../workers/bundled.js'

export const faults = new URL('./fixtures/fault-tasks.ts', import.meta.url)
/**
 * The fault tasks compiled once per run (test/workers/bundled.ts): a worker starts in ~0.1 s, not
 * ~1 s through tsx, and the fault scenarios replace workers by the hundred. The loading tests
 * below keep the TypeScript sources, which workers load through tsx as a user's would.
 */
export const compiledFaults = bundledThreads(faults)
let app: Celeriac | undefined

/** `app`, to be stopped after the test (as the apps {@link start} makes are). */
export function stopAfterTest(made: Celeriac): Celeriac {
  app = made
  return made
}

/** Stops the app of each test (made by {@link start} or given to {@link stopAfterTest}) after it; called at a test file's top. */
export function stopAppsAfterEach(): void {
  afterEach(async () => {
    await app?.stop({ timeout: 2_000 })
    app = undefined
  })
}

/**
 * How the workers {@link start} makes wait when idle, unless a test says: `CELERIAC_IDLE_WAIT=atomics`
 * runs these tests on resting workers (`idleWait: 'atomics'`).
 */
const idleWait: ThreadsOptions['idleWait'] = process.env.CELERIAC_IDLE_WAIT === 'atomics' ? 'atomics' : undefined
/**
 * How long those rest at most: an hour, so that nothing here can depend on a rest's end (a
 * terminate or a message must end it).
 */
export const REST_FOR_TESTS = 3_600_000

export async function start(options: Partial<ThreadsOptions> = {}, clock?: VirtualClock) {
  const executor = threadsExecutor({ ...compiledFaults, size: 2, ...(idleWait === undefined ? {} : { idleWait }), ...options }, undefined, {
    restTimeout: REST_FOR_TESTS,
  })
  app = new Celeriac({ executor, ...(clock === undefined ? {} : { clock }) })
  await app.start()
  return { app, executor }
}

/** The task's final state and error; the error's class must be exactly `cls`. */
export async function failsWith(r: AsyncResult<unknown>, state: State, cls: ErrorClass, label: string): Promise<Error> {
  const error = await r.get().then(
    () => expect.unreachable(`${label}: get() should have rejected`),
    (e: unknown) => e as Error,
  )
  expect(error.constructor, label).toBe(cls)
  expect(await r.state(), label).toBe(state)
  return error
}

/** Records the app's task events from now on; `of(id)` gives the names of one task's, in order. */
export function eventLog(target: Celeriac): { of(id: string): Array<keyof CeleriacEvents> } {
  const seen: Array<[keyof CeleriacEvents, string]> = []
  const names = ['task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-rejected'] as const
  for (const name of names) target.events.on(name, (e: { id: string }) => void seen.push([name, e.id]))
  return { of: (id) => seen.filter(([, of]) => of === id).map(([name]) => name) }
}

/**
 * Memory limits for the out-of-memory faults: a worker with the fault tasks loaded holds ~8 MB of
 * heap, so 16 MB of old generation leaves it room to run, and fault.oom reaches the limit in a
 * few allocations. (At 48 MB each fault cost ~330 ms of CPU in the garbage collector, at 16 MB
 * ~120 ms: the 100-fault test has 20 of them.)
 */
export const OOM_LIMITS = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 8 }

/** Waits (bounded) until the pool has `size` healthy workers again: replacements boot in real time. */
export async function poolRestored(executor: { workers: number }, size: number): Promise<void> {
  for (let i = 0; i < 500 && executor.workers < size; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(executor.workers).toBe(size)
}
