/**
 * Bad input gets a typed error at the call that made it, with a message that says what to do,
 * and the engine keeps working afterwards.
 */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, ConfigError, NotRegistered, memoryStorage, signature } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

async function rejection(call: () => Promise<unknown>): Promise<Error> {
  return call().then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e as Error,
  )
}

forEachCombo('bad input', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('an unknown task name is NotRegistered, by name and by signature', async () => {
    h = await setup(combo)
    const error = await rejection(() => h.app.sendTask('core.nope', []))
    expect(error).toBeInstanceOf(NotRegistered)
    expect((error as NotRegistered).code).toBe('NOT_REGISTERED')
    expect(error.message).toContain('core.nope')
    const bySignature = await rejection(() => signature('core.nope', { args: [1] }).delay())
    expect(bySignature).toBeInstanceOf(NotRegistered)
    expect(bySignature.message).toContain('core.nope')
    const sentByApp = await rejection(() => h.app.send(signature('core.nope')))
    expect(sentByApp).toBeInstanceOf(NotRegistered)
  })

  it.each([
    ['a negative countdown', { countdown: -1 }, 'countdown'],
    ['a NaN countdown', { countdown: Number.NaN }, 'countdown'],
    ['a NaN priority', { priority: Number.NaN }, 'priority'],
    ['priority 10', { priority: 10 }, 'priority'],
    ['priority -1', { priority: -1 }, 'priority'],
    ['a fractional priority', { priority: 1.5 }, 'priority'],
    ['an eta that is not a date', { eta: 'tomorrow' }, 'eta'],
    ['an invalid Date eta', { eta: new Date('nope') }, 'eta'],
    ['an expires that is not a time', { expires: 'soon' }, 'expires'],
    ['both countdown and eta', { countdown: 10, eta: new Date() }, 'countdown'],
  ])('%s is a ConfigError naming the option; nothing is queued', async (_label, options, word) => {
    h = await setup(combo)
    const error = await rejection(() => h.tasks.coreMark.applyAsync(['x'], options as never))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('CONFIG')
    expect(error.message).toContain(word)
    await h.app.whenIdle()
    expect(h.lines()).toEqual([])
    expect(await (await h.tasks.coreMark.delay('still works')).get()).toBe('still works')
  })

  it('an unknown queue is refused when queues are declared', async () => {
    h = await setup(combo, { queues: { default: {}, reports: {} } })
    const error = await rejection(() => h.tasks.coreMark.applyAsync(['x'], { queue: 'report' }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain("unknown queue 'report'")
    expect(error.message).toContain('reports')
    expect(await (await h.tasks.coreMark.applyAsync(['ok'], { queue: 'reports' })).get()).toBe('ok')
  })

  it('a bad queue concurrency and a bad route priority are refused at construction', () => {
    expect(() => new Celeriac({ queues: { default: { concurrency: 0 } } })).toThrow(ConfigError)
    expect(() => new Celeriac({ routes: { 'a.*': { priority: 12 } } })).toThrow(ConfigError)
    h = { stop: async () => {} } as Harness
  })
})

// Lifecycle errors do not depend on the combination.
it('sending before start() and after stop() is a ConfigError that says what to do', async () => {
  const app = new Celeriac({ storage: memoryStorage(), clock: virtualClock() })
  const add = app.task('life.add', (a: number, b: number) => a + b)
  const before = await rejection(() => add.delay(1, 2))
  expect(before).toBeInstanceOf(ConfigError)
  expect(before.message).toContain('app.start()')
  await app.start()
  expect(await (await add.delay(1, 2)).get()).toBe(3)
  await app.stop()
  const after = await rejection(() => add.delay(1, 2))
  expect(after).toBeInstanceOf(ConfigError)
  expect(after.message).toContain('stopped')
})

it('a duplicate task name is a ConfigError at registration', () => {
  const app = new Celeriac()
  app.task('dup.name', () => 1)
  expect(() => app.task('dup.name', () => 2)).toThrow(ConfigError)
  expect(() => app.task('dup.name', () => 2)).toThrow(/unique/)
})

it('start() twice and configure() after start() are ConfigErrors', async () => {
  const app = new Celeriac({ clock: virtualClock() })
  await app.start()
  await expect(app.start()).rejects.toBeInstanceOf(ConfigError)
  expect(() => app.configure({ name: 'late' })).toThrow(ConfigError)
  await app.stop()
})

it('stop() waits for running tasks, up to its timeout', async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const slow = app.task('life.slow', { bind: true }, async (self, ms: number) => {
    await self.sleep(ms)
    return 'done'
  })
  await app.start()
  const succeeded: string[] = []
  app.events.on('task-succeeded', (e) => succeeded.push(e.id))
  const r = await slow.delay(1_000)
  let stopped = false
  const stopping = app.stop({ timeout: 60_000 }).then(() => (stopped = true))
  await clock.advance(500)
  expect(stopped).toBe(false)
  await clock.advance(500)
  await stopping
  expect(stopped).toBe(true)
  expect(succeeded).toEqual([r.id])
})
