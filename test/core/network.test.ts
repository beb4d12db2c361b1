/** `requires: 'online'`: tasks that need the network wait while it is down and run when it is back. */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, ConfigError, states } from '../../src/index.js'
import type { Network } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'

/** A network switched by the test. */
function switchable(online: boolean) {
  const listeners = new Set<() => void>()
  const network: Network = {
    isOnline: () => online,
    subscribe(onChange) {
      listeners.add(onChange)
      return () => listeners.delete(onChange)
    },
  }
  return {
    network,
    set(up: boolean) {
      online = up
      for (const listener of listeners) listener()
    },
  }
}

let app: Celeriac
afterEach(async () => app.stop())

it('a task that requires the network waits while offline; others run; it runs when the network is back', async () => {
  const net = switchable(false)
  const clock = virtualClock()
  app = new Celeriac({ clock, network: net.network })
  const upload = app.task('sync.upload', { requires: 'online' }, (file: string) => `uploaded ${file}`)
  const local = app.task('sync.local', (file: string) => `indexed ${file}`)
  await app.start()
  const pending = await upload.delay('a.txt')
  const other = await local.delay('a.txt')
  expect(await other.get()).toBe('indexed a.txt')
  await clock.advance(60_000)
  expect(await pending.state()).toBe(states.PENDING)
  net.set(true)
  expect(await pending.get()).toBe('uploaded a.txt')
})

it('sent while online, it runs at once; the order of held tasks is kept', async () => {
  const net = switchable(true)
  app = new Celeriac({ clock: virtualClock(), network: net.network, queues: { default: { concurrency: 1 } } })
  const seen: string[] = []
  const upload = app.task('sync.upload', { requires: 'online' }, (file: string) => {
    seen.push(file)
    return file
  })
  await app.start()
  expect(await (await upload.delay('first')).get()).toBe('first')
  net.set(false)
  const held = [await upload.delay('b'), await upload.delay('c'), await upload.delay('d')]
  await app.whenIdle()
  expect(seen).toEqual(['first'])
  net.set(true)
  for (const r of held) await r.get()
  expect(seen).toEqual(['first', 'b', 'c', 'd'])
})

it("requires must be 'online' or null", () => {
  app = new Celeriac()
  expect(() => app.task('bad.requires', { requires: 'wifi' as 'online' }, () => 1)).toThrow(ConfigError)
})
