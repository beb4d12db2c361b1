/**
 * `keepAlive`: which started apps ask their clock to hold the host, and that stop() lets go. The
 * child-process tests (test/adapters/lifetime.test.ts) show what the hold does to a Node process.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, ConfigError, memoryStorage, systemClock } from '../../src/index.js'
import type { Clock, Config } from '../../src/index.js'

/** The system clock, counting the holds it gives and the ones let go. */
function countingClock(): Clock & { held: number; released: number } {
  const base = systemClock()
  const clock = {
    ...base,
    held: 0,
    released: 0,
    hold() {
      clock.held++
      const release = base.hold!()
      return () => {
        clock.released++
        release()
      }
    },
  }
  return clock
}

async function holdsWhileStarted(config: Config, configure?: Config): Promise<boolean> {
  const clock = countingClock()
  const app = new Celeriac({ ...config, clock })
  if (configure !== undefined) app.configure(configure)
  await app.start()
  const held = clock.held
  await app.stop()
  expect(clock.released).toBe(clock.held)
  expect(held).toBeLessThanOrEqual(1)
  return held === 1
}

describe('keepAlive', () => {
  it('defaults to whether the app consumes', async () => {
    expect(await holdsWhileStarted({})).toBe(true)
    expect(await holdsWhileStarted({ consume: false })).toBe(false)
    expect(await holdsWhileStarted({}, { consume: false })).toBe(false)
  })

  it('given, it wins over consume, through later configure() calls too', async () => {
    expect(await holdsWhileStarted({ keepAlive: false })).toBe(false)
    expect(await holdsWhileStarted({ consume: false, keepAlive: true })).toBe(true)
    expect(await holdsWhileStarted({ keepAlive: true }, { consume: false })).toBe(true)
  })

  it('is not held before start() nor after a start() that failed', async () => {
    const clock = countingClock()
    const storage = { ...memoryStorage() }
    storage.open = () => Promise.reject(new Error('disk gone'))
    const app = new Celeriac({ clock, storage })
    expect(clock.held).toBe(0)
    await expect(app.start()).rejects.toThrow('disk gone')
    expect(clock.held).toBe(0)
  })

  it('anything but a boolean is a ConfigError naming the option', () => {
    expect(() => new Celeriac({ keepAlive: 'yes' as never })).toThrow(ConfigError)
    expect(() => new Celeriac({ keepAlive: 'yes' as never })).toThrow(/keepAlive/)
  })
})
