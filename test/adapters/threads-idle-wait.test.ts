/**
 * How an idle Node worker waits for its next task. `threads({ idleWait: 'atomics' })`: it rests in
 * `Atomics.wait` and takes its next task off its port itself; `threads({ idleSpin })` (on by
 * default, 50 µs): it first spins, taking the next task off its port itself for that long. Neither
 * happens while the task module keeps something ref'd of its own (a listened port, a timer), and
 * the event loop gets its turns between tasks.
 *
 * Nothing here measures time: the workers rest or spin up to an hour (`threadsExecutor`'s limits)
 * where a test needs resting or spinning to be what would fail it, so a rest or spin that should
 * not happen hangs the test until its timeout instead of passing late.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import { threads } from '../../src/node.js'
import { threadsExecutor } from '../../src/adapters/node/threads.js'
import type { IdleLimits } from '../../src/adapters/node/threads.js'
import type { ThreadsOptions } from '../../src/node.js'
import { bundledThreads } from '../workers/bundled.js'
import { REST_FOR_TESTS, compiledFaults } from './threads-harness.js'

/** An hour, in µs: a spin as long as a test's rests. */
const SPIN_FOR_TESTS = REST_FOR_TESTS * 1_000

const tasks = bundledThreads(new URL('./fixtures/idle-wait-tasks.ts', import.meta.url))

let app: Celeriac | undefined
let channel: BroadcastChannel | undefined
afterEach(async () => {
  channel?.close()
  channel = undefined
  await app?.stop({ timeout: 2_000 })
  app = undefined
})

/** An app on one worker of the fixture tasks, resting (and spinning, when it spins) as `limits` say: up to an hour unless given. */
async function started(options: Partial<ThreadsOptions>, limits: IdleLimits = { restTimeout: REST_FOR_TESTS }): Promise<Celeriac> {
  app = new Celeriac({ executor: threadsExecutor({ ...tasks, size: 1, ...options }, undefined, limits) })
  await app.start()
  return app
}

/** Resolves once the fixture's handlers have said `line` (they post on a BroadcastChannel). */
function heard(): (line: string) => Promise<void> {
  const lines: string[] = []
  const waiting: Array<{ line: string; resolve: () => void }> = []
  channel = new BroadcastChannel('celeriac-idle-wait')
  channel.onmessage = (event: MessageEvent<string>) => {
    lines.push(event.data)
    for (const w of waiting.filter((w) => w.line === event.data)) w.resolve()
  }
  return (line) => (lines.includes(line) ? Promise.resolve() : new Promise((resolve) => waiting.push({ line, resolve })))
}

async function run<T>(target: Celeriac, name: string, args: unknown[] = []): Promise<T> {
  return (await (await target.sendTask(name, args)).get()) as T
}

/**
 * How many of `n` tasks sent one after another were taken in a rest. A worker rests in its event
 * loop's check phase after a task, so a task sent before it gets there comes through the loop:
 * a test asks for some, not all.
 */
async function takenInRest(target: Celeriac, n: number): Promise<number> {
  let rested = 0
  for (let i = 0; i < n; i++) {
    if (/\bat rest\b/.test(await run<string>(target, 'idle.stack'))) rested++
    // A moment for the worker to get there on a loaded machine (not a timing the test needs).
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  return rested
}

/** The two ways a worker takes its next task itself, each an hour long at most (a `rest` in the worker's stack either way). */
const idleWaits = [
  { name: "idleWait: 'atomics' (rests in Atomics.wait)", options: { idleWait: 'atomics', idleSpin: 0 }, limits: { restTimeout: REST_FOR_TESTS } },
  { name: 'idleSpin (spins, then waits in its event loop)', options: {}, limits: { idleSpin: SPIN_FOR_TESTS } },
] as const satisfies ReadonlyArray<{ name: string; options: Partial<ThreadsOptions>; limits: IdleLimits }>

describe('threads executor: options of an idle worker', () => {
  it('idleWait is a ConfigError at the threads() call when not one of its values', () => {
    for (const idleWait of ['sync', 'Atomics', '', 1, true]) {
      expect(() => threads({ ...compiledFaults, idleWait: idleWait as ThreadsOptions['idleWait'] })).toThrow(ConfigError)
    }
    expect(() => threads({ ...compiledFaults, idleWait: 'event-loop' })).not.toThrow()
    expect(() => threads({ ...compiledFaults, idleWait: 'atomics' })).not.toThrow()
  })

  it('idleSpin is a ConfigError at the threads() call unless microseconds from 0 to 1000', () => {
    for (const idleSpin of [-1, 1_001, Number.NaN, Number.POSITIVE_INFINITY, '50', true]) {
      expect(() => threads({ ...compiledFaults, idleSpin: idleSpin as number })).toThrow(ConfigError)
    }
    for (const idleSpin of [0, 0.5, 50, 1_000]) expect(() => threads({ ...compiledFaults, idleSpin })).not.toThrow()
  })

  it('with idleSpin: 0 and the event loop, or without SharedArrayBuffer, no task is taken outside the event loop', async () => {
    const plain = await started({ idleSpin: 0 })
    for (let i = 0; i < 4; i++) expect(await run<string>(plain, 'idle.stack')).not.toMatch(/\bat rest\b/)
    await plain.stop()
    vi.stubGlobal('SharedArrayBuffer', undefined)
    let target: Celeriac
    try {
      // The workers are spawned (and given their counter, or none) in start().
      target = await started({ idleWait: 'atomics', idleSpin: 0 })
    } finally {
      vi.unstubAllGlobals()
    }
    for (let i = 0; i < 4; i++) expect(await run<string>(target, 'idle.stack')).not.toMatch(/\bat rest\b/)
  })

  it("idleWait 'atomics': an unref'd timer of the task module waits while the worker rests, and runs at the rest's timeout", async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics', idleSpin: 0 }, { restTimeout: 20 })
    await run(target, 'idle.tick', [true])
    await said('tick 3')
    // Tasks one after another all the while: the event loop still gets its turns.
    let sent = 0
    const more = said('tick 6')
    let done = false
    void more.then(() => (done = true))
    while (!done) {
      await run(target, 'idle.stack')
      sent++
    }
    expect(sent).toBeGreaterThan(0)
    await run(target, 'idle.stop')
  })

  it('idleSpin: a spin that finds no task hands the worker to its event loop, which then waits there (the next task comes through it)', async () => {
    const said = heard()
    // 1 ms: the task module's unref'd interval ticks only once the spin after its task has ended.
    const target = await started({ idleSpin: 1_000 }, {})
    await run(target, 'idle.tick', [true])
    for (let n = 1; n <= 3; n++) {
      await said(`tick ${3 * n}`)
      // A worker that spun again at each turn of its loop would be spinning when this comes.
      expect(await run<string>(target, 'idle.stack')).not.toMatch(/\bat rest\b/)
    }
    await run(target, 'idle.stop')
  })
})

describe.each(idleWaits)('threads executor: an idle worker, $name', ({ options, limits }) => {
  it('takes the next task itself (not from its event loop)', async () => {
    const target = await started(options, limits)
    // The first may come through the event loop: the worker does not rest while its task
    // module's import still closes a file.
    expect(await takenInRest(target, 20)).toBeGreaterThanOrEqual(3)
  })

  it("a task module's own listened port keeps its worker from it: its messages are delivered while the worker is idle", async () => {
    const said = heard()
    const target = await started(options, limits)
    for (let n = 1; n <= 3; n++) {
      expect(await run<number>(target, 'idle.port', [n])).toBe(n)
      // Resting or spinning (up to an hour here) would hold the message until the next task came.
      await said(`port ${n}`)
    }
  })

  it("a task module's own ref'd interval keeps its worker from it: it ticks while the worker is idle", async () => {
    const said = heard()
    const target = await started(options, limits)
    await run(target, 'idle.tick', [false])
    await said('tick 3')
    expect(await run<number>(target, 'idle.stop')).toBeGreaterThanOrEqual(3)
    // With nothing of the module's own left, the worker takes tasks itself again.
    expect(await takenInRest(target, 20)).toBeGreaterThan(0)
  })

  it('what a task leaves to run (its process.nextTick, a promise chain it did not await) runs first', async () => {
    const said = heard()
    const target = await started(options, limits)
    expect(await takenInRest(target, 20)).toBeGreaterThan(0)
    for (let n = 1; n <= 3; n++) {
      // Taken in a rest; the worker rests again after (up to an hour): no next task comes to wake it.
      expect(await run<number>(target, 'idle.leave', [n])).toBe(n)
      await said(`ticked ${n}`)
      await said(`chained ${n}`)
    }
  })

  it('after a task it took itself, it waits so again without a turn of its event loop, once what that task left has run', async () => {
    const target = await started(options, limits)
    expect(await takenInRest(target, 20)).toBeGreaterThan(0)
    let followUps = 0
    for (let n = 1; n <= 40; n++) {
      expect(await run<number>(target, 'idle.leave', [n])).toBe(n)
      // Sent at once: the worker takes it in the rest that follows the last one in the same
      // check phase (not in the first rest of a turn), and never before the ticks and the
      // promise chain the last task left have run.
      const { left, stack } = await run<{ left: number; stack: string }>(target, 'idle.left')
      expect(left).toBe(0)
      if (/\bat rest\b/.test(stack) && /\bfollowUp\b/.test(stack)) followUps++
    }
    expect(followUps).toBeGreaterThan(0)
  })

  it("tasks back to back do not keep the event loop from its turns: an unref'd timer ticks while they come, each wait an hour long", async () => {
    const said = heard()
    const target = await started(options, limits)
    await run(target, 'idle.tick', [true])
    // Each tick needs a turn of the loop; the worker rests (for up to an hour) between the tasks.
    const more = said('tick 6')
    let done = false
    void more.then(() => (done = true))
    let sent = 0
    while (!done) {
      await run(target, 'idle.stack')
      sent++
    }
    expect(sent).toBeGreaterThan(0)
    await run(target, 'idle.stop')
  })

  it('stop() ends idle workers at once (waiting so does not hold terminate)', async () => {
    const target = await started({ ...options, size: 2 }, limits)
    /** Two at once: one to each worker. */
    const two = async () => Promise.all([0, 1].map(async () => (await target.sendTask('idle.stack')).get() as Promise<string>))
    let both = false
    for (let i = 0; i < 20 && !both; i++) {
      both = (await two()).every((stack) => /\bat rest\b/.test(stack))
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(both).toBe(true)
    // Both workers rest, for up to an hour: stop terminates them (it would hang otherwise).
    await target.stop()
    app = undefined
  })
})
