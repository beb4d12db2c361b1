/**
 * `threads({ idleWait: 'atomics' })`: an idle worker rests in `Atomics.wait` and takes its next
 * task off its port itself, unless the task module keeps something ref'd of its own (a listened
 * port, a timer), and gives its event loop a turn at the latest a rest's timeout after the last.
 *
 * Nothing here measures time: the workers rest up to an hour (REST_FOR_TESTS, `threadsExecutor`'s
 * third argument) where a test needs resting to be what would fail it, so a rest that should not happen
 * hangs the test until its timeout instead of passing late.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import { threads } from '../../src/node.js'
import { threadsExecutor } from '../../src/adapters/node/threads.js'
import type { ThreadsOptions } from '../../src/node.js'
import { bundledThreads } from '../workers/bundled.js'
import { REST_FOR_TESTS, compiledFaults } from './threads-harness.js'

const tasks = bundledThreads(new URL('./fixtures/idle-wait-tasks.ts', import.meta.url))

let app: Celeriac | undefined
let channel: BroadcastChannel | undefined
afterEach(async () => {
  channel?.close()
  channel = undefined
  await app?.stop({ timeout: 2_000 })
  app = undefined
})

/** An app on one worker of the fixture tasks, resting up to `restTimeout` ms. */
async function started(options: Partial<ThreadsOptions>, restTimeout = REST_FOR_TESTS): Promise<Celeriac> {
  app = new Celeriac({ executor: threadsExecutor({ ...tasks, size: 1, ...options }, undefined, restTimeout) })
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

describe("threads({ idleWait: 'atomics' })", () => {
  it('is a ConfigError at the threads() call when not one of its values', () => {
    for (const idleWait of ['sync', 'Atomics', '', 1, true]) {
      expect(() => threads({ ...compiledFaults, idleWait: idleWait as ThreadsOptions['idleWait'] })).toThrow(ConfigError)
    }
    expect(() => threads({ ...compiledFaults, idleWait: 'event-loop' })).not.toThrow()
    expect(() => threads({ ...compiledFaults, idleWait: 'atomics' })).not.toThrow()
  })

  it('an idle worker takes the next task in its rest (not from its event loop); without the option it does not', async () => {
    const resting = await started({ idleWait: 'atomics' })
    // The first may come through the event loop: the worker does not rest while its task
    // module's import still closes a file.
    expect(await takenInRest(resting, 20)).toBeGreaterThanOrEqual(3)
    await resting.stop()
    const plain = await started({})
    for (let i = 0; i < 4; i++) expect(await run<string>(plain, 'idle.stack')).not.toMatch(/\bat rest\b/)
  })

  it('without SharedArrayBuffer the workers wait in their event loop (messages only)', async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined)
    let target: Celeriac
    try {
      // The workers are spawned (and given their counter, or none) in start().
      target = await started({ idleWait: 'atomics' })
    } finally {
      vi.unstubAllGlobals()
    }
    for (let i = 0; i < 4; i++) expect(await run<string>(target, 'idle.stack')).not.toMatch(/\bat rest\b/)
  })

  it("a task module's own listened port keeps its worker from resting: its messages are delivered while the worker is idle", async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics' })
    for (let n = 1; n <= 3; n++) {
      expect(await run<number>(target, 'idle.port', [n])).toBe(n)
      // Resting (up to an hour here) would hold the message until the next task came.
      await said(`port ${n}`)
    }
  })

  it("a task module's own ref'd interval keeps its worker from resting: it ticks while the worker is idle", async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics' })
    await run(target, 'idle.tick', [false])
    await said('tick 3')
    expect(await run<number>(target, 'idle.stop')).toBeGreaterThanOrEqual(3)
    // With nothing of the module's own left, the worker rests again.
    expect(await takenInRest(target, 20)).toBeGreaterThan(0)
  })

  it("an unref'd timer of the task module waits while the worker rests, and runs at the rest's timeout", async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics' }, 20)
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

  it('what a task leaves to run (its process.nextTick, a promise chain it did not await) runs before the worker rests', async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics' })
    expect(await takenInRest(target, 20)).toBeGreaterThan(0)
    for (let n = 1; n <= 3; n++) {
      // Taken in a rest; the worker rests again after (up to an hour): no next task comes to wake it.
      expect(await run<number>(target, 'idle.leave', [n])).toBe(n)
      await said(`ticked ${n}`)
      await said(`chained ${n}`)
    }
  })

  it('after a task taken in a rest the worker rests again without a turn of its event loop, once what that task left has run', async () => {
    const target = await started({ idleWait: 'atomics' })
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

  it("tasks back to back do not keep the event loop from its turns: an unref'd timer ticks while they come, the rests an hour long", async () => {
    const said = heard()
    const target = await started({ idleWait: 'atomics' })
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

  it('stop() ends resting workers at once (the rest does not hold terminate)', async () => {
    const target = await started({ idleWait: 'atomics', size: 2 })
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
