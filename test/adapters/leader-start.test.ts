/**
 * `consume: 'leader'` in Node: with no Web Locks the app leads at once, inside `start()`. A leader
 * whose executor cannot start fails `start()` as a consuming app does, rather than resolving and
 * holding the lead while running nothing (once, only a log line said so).
 */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import { threads } from '../../src/node.js'

const apps: Celeriac[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
})

it('a leader whose workers cannot load: start() rejects with the loading error, and the app can be started again', async () => {
  const app = new Celeriac({
    name: 'leader-fails',
    consume: 'leader',
    executor: threads({ module: new URL('./fixtures/broken-module.ts', import.meta.url), size: 1 }),
  })
  apps.push(app)
  const error = await app.start().then(
    () => expect.unreachable('start() should have failed'),
    (e: unknown) => e as Error,
  )
  expect(error).toBeInstanceOf(ConfigError)
  expect(error.message).toContain('broken-module.ts')
  expect(app.isConsumer).toBe(false)
  // Nothing was left half-started: a second start() tries again (and fails the same way).
  await expect(app.start()).rejects.toBeInstanceOf(ConfigError)
})

it('a leader that starts: start() returns once it consumes', async () => {
  const app = new Celeriac({ name: 'leader-starts', consume: 'leader' })
  apps.push(app)
  const add = app.task('leader.add', (a: number, b: number) => a + b)
  await app.start()
  expect(app.isConsumer).toBe(true)
  expect(await (await add.delay(2, 3)).get({ timeout: 5_000 })).toBe(5)
})
