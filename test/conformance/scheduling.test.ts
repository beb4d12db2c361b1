/** Countdown, eta, expires, priority, FIFO, per-queue concurrency, routes and taskId dedupe. */
import { afterEach, expect, it } from 'vitest'
import { TaskRevokedError, states } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const MINUTE = 60_000

/** The most tasks running at once, from `start x` / `end x` log lines. */
function maxConcurrent(lines: readonly string[]): number {
  let running = 0
  let most = 0
  for (const line of lines) {
    if (line.startsWith('start ')) most = Math.max(most, ++running)
    else if (line.startsWith('end ')) running--
  }
  return most
}

forEachCombo('scheduling', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a task with a one-hour countdown is PENDING at 59 min and SUCCESS past 60 min', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreMark.applyAsync(['due'], { countdown: 60 * MINUTE })
    await h.clock.advance(59 * MINUTE)
    expect(await r.state()).toBe(states.PENDING)
    expect(h.lines()).toEqual([])
    await h.clock.advance(MINUTE + 1)
    expect(await r.state()).toBe(states.SUCCESS)
    expect(await r.get()).toBe('due')
  })

  it('eta (a Date or epoch ms) runs the task at that time, in eta order', async () => {
    h = await setup(combo)
    const start = h.clock.now()
    await h.tasks.coreMark.applyAsync(['third'], { eta: new Date(start + 30_000) })
    await h.tasks.coreMark.applyAsync(['first'], { eta: start + 10_000 })
    await h.tasks.coreMark.applyAsync(['second'], { eta: new Date(start + 20_000) })
    await h.clock.advance(15_000)
    expect(h.lines()).toEqual(['first'])
    await h.clock.advance(15_000)
    expect(h.lines()).toEqual(['first', 'second', 'third'])
  })

  it('an eta in the past runs at once', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreMark.applyAsync(['late'], { eta: new Date(h.clock.now() - 5_000) })
    expect(await r.get()).toBe('late')
  })

  it('a task past its expiry never runs and is REVOKED with reason expired', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreMark.applyAsync(['stale'], { countdown: 10_000, expires: 5_000 })
    const kept = await h.tasks.coreMark.applyAsync(['fresh'], { countdown: 10_000, expires: 20_000 })
    await h.clock.advance(10_000)
    expect(await r.state()).toBe(states.REVOKED)
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRevokedError)
    expect((error as TaskRevokedError).reason).toBe('expired')
    expect(await kept.get()).toBe('fresh')
    expect(h.lines()).toEqual(['fresh'])
  })

  it('expires as a Date works the same', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreMark.applyAsync(['stale'], { countdown: 2_000, expires: new Date(h.clock.now() + 1_000) })
    await h.clock.advance(2_000)
    expect(await r.state()).toBe(states.REVOKED)
    expect(h.lines()).toEqual([])
  })

  it('higher priority runs first; equal priorities run in the order sent', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    // Hold the only slot so that the rest queue up behind it.
    await h.tasks.coreSlow.delay('blocker', 1_000)
    const sends: Array<[string, number]> = [
      ['p0-a', 0],
      ['p5-a', 5],
      ['p9-a', 9],
      ['p5-b', 5],
      ['p0-b', 0],
      ['p9-b', 9],
      ['p5-c', 5],
    ]
    for (const [label, priority] of sends) await h.tasks.coreMark.applyAsync([label], { priority })
    await h.clock.advance(1_000)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['start blocker', 'end blocker', 'p9-a', 'p9-b', 'p5-a', 'p5-b', 'p5-c', 'p0-a', 'p0-b'])
  })

  it('a queue never runs more tasks at once than its concurrency', async () => {
    h = await setup(combo, { queues: { default: {}, limited: { concurrency: 2 } } })
    const limited = []
    for (let i = 0; i < 8; i++) limited.push(await h.tasks.coreSlow.applyAsync([`L${i}`, 100], { queue: 'limited' }))
    await h.clock.runAll()
    await h.app.whenIdle()
    for (const r of limited) expect(await r.state()).toBe(states.SUCCESS)
    expect(maxConcurrent(h.lines())).toBe(2)
    expect(h.lines().filter((l) => l.startsWith('end '))).toHaveLength(8)
  })

  it('a busy queue does not hold back another queue', async () => {
    h = await setup(combo, { queues: { default: {}, limited: { concurrency: 1 } } })
    for (let i = 0; i < 4; i++) await h.tasks.coreSlow.applyAsync([`L${i}`, 100], { queue: 'limited' })
    const other = await h.tasks.coreMark.delay('other')
    expect(await other.get()).toBe('other')
    // It ran while the limited queue's first task was still sleeping (the clock has not moved)
    // and the rest of that queue waited.
    expect(h.lines()).toContain('other')
    expect(h.lines().filter((l) => l.startsWith('start '))).toEqual(h.lines().includes('start L0') ? ['start L0'] : [])
    expect(h.lines().filter((l) => l.startsWith('end '))).toEqual([])
    await h.clock.runAll()
    await h.app.whenIdle()
    expect(maxConcurrent(h.lines().filter((l) => l !== 'other'))).toBe(1)
  })

  it('routes send a task to a queue by its name or a glob; an explicit send option wins', async () => {
    h = await setup(combo, {
      queues: { default: {}, reports: {}, math: {} },
      routes: { 'core.request': { queue: 'math', priority: 6 }, 'reports.*': { queue: 'reports' } },
    })
    const byName = await (await h.tasks.coreRequest.delay('by name')).get()
    expect(byName).toMatchObject({ queue: 'math', priority: 6 })
    expect(await (await h.tasks.coreDailyReport.delay()).get()).toBe('reports')
    const explicit = await (await h.tasks.coreRequest.applyAsync(['explicit'], { queue: 'default', priority: 2 })).get()
    expect(explicit).toMatchObject({ queue: 'default', priority: 2 })
    expect(await (await h.tasks.coreDailyReport.applyAsync([], { queue: 'math' })).get()).toBe('math')
  })

  it("a task's queue option sends it there when no route matches; other tasks go to default", async () => {
    h = await setup(combo, { queues: { default: {}, reports: {} } })
    expect(await (await h.tasks.coreRouted.delay()).get()).toBe('reports')
    expect((await (await h.tasks.coreRequest.delay('plain')).get()).queue).toBe('default')
  })

  it('a taskId already known returns the same handle and runs the task once', async () => {
    h = await setup(combo)
    const first = await h.tasks.coreMark.applyAsync(['once'], { taskId: 'order-17', countdown: 1_000 })
    const second = await h.tasks.coreMark.applyAsync(['twice'], { taskId: 'order-17' })
    expect(second.id).toBe(first.id)
    await h.clock.advance(1_000)
    expect(await second.get()).toBe('once')
    const third = await h.tasks.coreMark.applyAsync(['thrice'], { taskId: 'order-17' })
    await h.app.whenIdle()
    expect(await third.get()).toBe('once')
    expect(h.lines()).toEqual(['once'])
  })

  it('after forget() the same taskId can be sent again', async () => {
    h = await setup(combo)
    const first = await h.tasks.coreMark.applyAsync(['one'], { taskId: 'job-1' })
    expect(await first.get()).toBe('one')
    await first.forget()
    const again = await h.tasks.coreMark.applyAsync(['two'], { taskId: 'job-1' })
    expect(await again.get()).toBe('two')
    expect(h.lines()).toEqual(['one', 'two'])
  })

  it('runAll drains every scheduled task in eta order', async () => {
    h = await setup(combo)
    for (let i = 1; i <= 5; i++) await h.tasks.coreMark.applyAsync([`t${i}`], { countdown: i * MINUTE })
    const fired = await h.clock.runAll()
    expect(fired).toBeGreaterThanOrEqual(5)
    expect(h.lines()).toEqual(['t1', 't2', 't3', 't4', 't5'])
    expect(h.clock.pending()).toBe(0)
  })
})
