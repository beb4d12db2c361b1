/**
 * A storage write that fails while runs end: the run whose outcome (or start) was in it ends as
 * FAILURE with a StorageError through the engine's one failure path, nothing stays `running`,
 * and the engine goes on. Seen through a storage that refuses the writes a test picks (memory
 * underneath, declared durable so the engine writes what it writes on file storage: messages,
 * leases, STARTED records). The failure matrix (test/conformance) covers the failed outcome write
 * in every workflow position; this covers what it cannot: hooks, the next run after a refused write,
 * and a failure that cannot be stored either.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, StorageError, Task, states } from '../../src/index.js'
import type { AsyncResult, LogEvent } from '../../src/index.js'
import type { Mutation, Storage, StorageKey, StoredValue, TransactStep } from '../../src/storage/types.js'
import { virtualClock } from '../../src/testing.js'
import { MemoryBacked } from './memory-backed.js'

class RefusingStorage extends MemoryBacked implements Storage {
  readonly name = 'refusing'
  readonly capabilities = { durable: true, shared: false } as const
  /** Writes (and transact steps) holding a mutation it matches are refused, while it is set. */
  refuse: ((m: Mutation) => boolean) | undefined
  /** How many it refused. */
  refused = 0
  readonly error = new Error('injected: the disk is full')
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    return this.inner.transact(keys, (values) => {
      const out = step(values)
      if (this.#refuses(out.mutations)) throw this.error
      return out
    })
  }
  write(mutations: readonly Mutation[]): Promise<void> {
    return this.#refuses(mutations) ? Promise.reject(this.error) : this.inner.write(mutations)
  }
  #refuses(mutations: readonly Mutation[]): boolean {
    if (this.refuse === undefined || !mutations.some(this.refuse)) return false
    this.refused++
    return true
  }
}

/** A put of `id`'s result record in one of `states`. */
const resultOf =
  (id: string, ...inStates: string[]) =>
  (m: Mutation): boolean =>
    m.op === 'put' && m.ns === 'results' && m.key === id && inStates.includes((m.value as { state: string }).state)

/** Logs the hooks that run after a task. */
class HookLogging extends Task {
  override onSuccess(): void {
    this.log.info('onSuccess')
  }
  override afterReturn(state: string): void {
    this.log.info(`afterReturn ${state}`)
  }
}

let app: Celeriac | undefined
afterEach(async () => {
  await app?.stop({ timeout: 1_000 })
  app = undefined
})

async function started(storage: Storage, concurrency = 16): Promise<{ app: Celeriac; logs: LogEvent[] }> {
  const made = new Celeriac({ storage, clock: virtualClock(), queues: { default: { concurrency } } })
  const logs: LogEvent[] = []
  made.events.on('log', (e) => logs.push(e))
  made.task('fw.mark', { bind: true }, (self: Task, label: string) => {
    self.log.info(`ran ${label}`)
    return label
  })
  made.task('fw.hooked', { bind: true, base: HookLogging }, (self: Task, label: string) => {
    self.log.info(`ran ${label}`)
    return label
  })
  await made.start()
  app = made
  return { app: made, logs }
}

/** Waits for the engine to be idle, or fails saying it never was: a run that never ends keeps it busy. */
async function idle(target: Celeriac): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`never idle: ${JSON.stringify(target.inspect.stats())}`)), 3_000)
  })
  try {
    await Promise.race([target.whenIdle(), stuck])
  } finally {
    clearTimeout(timer)
  }
}

async function rejection(r: AsyncResult<unknown>): Promise<unknown> {
  return r.get({ timeout: 1_000 }).then(
    () => expect.unreachable(`get() on ${r.id} should have rejected`),
    (e: unknown) => e,
  )
}

const lines = (logs: LogEvent[]): string[] => logs.filter((l) => l.level === 'info').map((l) => l.text)

describe('a failed write while runs end', () => {
  it('the outcome of a task with hooks cannot be stored: FAILURE with StorageError (cause: the storage error), its hooks still run, it is released', async () => {
    const storage = new RefusingStorage()
    storage.refuse = resultOf('x', states.SUCCESS)
    const { app, logs } = await started(storage)
    const x = await app.sendTask('fw.hooked', ['x'], { taskId: 'x' })
    await idle(app)
    expect(storage.refused).toBe(1)
    expect(await x.state()).toBe(states.FAILURE)
    const error = await rejection(x)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).cause).toMatchObject({ message: storage.error.message })
    // The hooks were waiting for the outcome's commit: they run once the FAILURE is stored.
    expect(lines(logs)).toEqual(['ran x', 'onSuccess', 'afterReturn SUCCESS'])
    expect(app.inspect.stats()).toMatchObject({ running: 0, ready: 0, scheduled: 0 })
  })

  it("a refused write of one run's outcome (its start with it) ends that run FAILURE with StorageError; the next run, which waited for that write, runs", async () => {
    const storage = new RefusingStorage()
    storage.refuse = resultOf('x', states.SUCCESS)
    // One at a time: y is taken when x's body ends and starts once x's write has settled.
    const { app, logs } = await started(storage, 1)
    const [x, y] = await Promise.all([app.sendTask('fw.mark', ['x'], { taskId: 'x' }), app.sendTask('fw.mark', ['y'], { taskId: 'y' })])
    await idle(app)
    expect(storage.refused).toBe(1)
    expect(await x.state()).toBe(states.FAILURE)
    expect(await rejection(x)).toBeInstanceOf(StorageError)
    expect(await y.get({ timeout: 1_000 })).toBe('y')
    const z = await app.sendTask('fw.mark', ['z'])
    expect(await z.get({ timeout: 1_000 })).toBe('z')
    expect(lines(logs)).toEqual(['ran x', 'ran y', 'ran z'])
  })

  it('the FAILURE cannot be stored either (tried twice): the run is released, get() rejects with StorageError, the log says so, and the message stays for recovery', async () => {
    const storage = new RefusingStorage()
    storage.refuse = resultOf('x', states.SUCCESS, states.FAILURE)
    const first = await started(storage)
    const x = await first.app.sendTask('fw.mark', ['x'], { taskId: 'x' })
    const waited = rejection(x)
    await idle(first.app)
    // The outcome, the FAILURE, and its one retry.
    expect(storage.refused).toBe(3)
    expect(await waited).toBeInstanceOf(StorageError)
    expect(first.logs.some((l) => l.level === 'error' && l.text.includes('FAILURE record of task fw.mark[x] could not be stored'))).toBe(true)
    expect(first.app.inspect.stats()).toMatchObject({ running: 0, ready: 0, scheduled: 0 })
    // The engine goes on.
    const other = await first.app.sendTask('fw.mark', ['other'])
    expect(await other.get({ timeout: 1_000 })).toBe('other')
    // Its message is still there, leased: an early-ack task's lease (its ack) is stored before its
    // body runs, so a restart fails it as lost rather than run it twice (at most once; NOTES.md,
    // "Leases when a run starts").
    expect(await storage.get('messages', 'x')).toMatchObject({ id: 'x', leased: true })
    storage.refuse = undefined
    await first.app.stop()
    const second = await started(storage)
    await idle(second.app)
    await expect(second.app.AsyncResult('x').get({ timeout: 1_000 })).rejects.toMatchObject({ name: 'WorkerLostError' })
    expect(lines(second.logs)).toEqual([])
    expect(await storage.get('messages', 'x')).toBeUndefined()
  })
})
