/**
 * The revoked set across restarts, on each durable storage: as a Celery worker's persistent
 * revokes (`--statedb`), a revoke is remembered after a restart, for REVOKE_EXPIRES (3 h) by the
 * engine clock, and at most the REVOKES_MAX (50 000) most recent ids; storage keeps no more.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, states } from '../../src/index.js'
import { REVOKES_MAX, REVOKE_EXPIRES } from '../../src/core/engine/revoked.js'
import { virtualClock } from '../../src/testing.js'
import { durableLocations, type Location } from './durable-locations.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2025, 0, 1)
const { locations, cleanUp } = durableLocations('revoked')

afterEach(cleanUp)

/** One incarnation of the app, its clock at `now`; `ran` lists the labels its task ran with. */
async function boot(location: Location, now: number) {
  const app = new Celeriac({ name: 'revokes', storage: location.open(), clock: virtualClock({ now }) })
  const ran: string[] = []
  const mark = app.task('revokes.mark', (label: string) => {
    ran.push(label)
    return label
  })
  await app.start()
  return { app, mark, ran }
}

/** The ids stored in the `revoked` namespace, read through a fresh handle. */
async function storedRevokes(location: Location): Promise<string[]> {
  const storage = location.open()
  await storage.open()
  try {
    return (await storage.entries('revoked')).map(([id]) => id).sort()
  } finally {
    await storage.close()
  }
}

describe.each(locations)('revoked set across restarts [%s]', (_name, makeLocation) => {
  it('a revoke survives a restart: the id is still remembered and a send with it never runs', async () => {
    const location = makeLocation()
    const first = await boot(location, T0)
    await first.app.control.revoke('ghost')
    await first.app.stop()

    const second = await boot(location, T0 + HOUR)
    expect(second.app.inspect.revoked()).toEqual(['ghost'])
    const r = await second.mark.applyAsync(['ghost'], { taskId: 'ghost' })
    await second.app.whenIdle()
    expect(await r.state()).toBe(states.REVOKED)
    expect(second.ran).toEqual([])
    await second.app.stop()
  })

  it('a revoke older than REVOKE_EXPIRES (3 h) is forgotten at restart, in storage too; a younger one is kept', async () => {
    const location = makeLocation()
    const first = await boot(location, T0)
    await first.app.control.revoke('old')
    await first.app.stop()
    const second = await boot(location, T0 + 2 * HOUR)
    await second.app.control.revoke('recent')
    await second.app.stop()
    expect(await storedRevokes(location)).toEqual(['old', 'recent'])

    const third = await boot(location, T0 + REVOKE_EXPIRES + 1)
    expect(third.app.inspect.revoked()).toEqual(['recent'])
    const old = await third.mark.applyAsync(['old'], { taskId: 'old' })
    const recent = await third.mark.applyAsync(['recent'], { taskId: 'recent' })
    await third.app.whenIdle()
    expect(await old.get()).toBe('old')
    expect(await recent.state()).toBe(states.REVOKED)
    expect(third.ran).toEqual(['old'])
    await third.app.stop()
    expect(await storedRevokes(location)).toEqual(['recent'])
  })

  it('a producer-only app (consume: false) forgets expired revokes at start as well', async () => {
    const location = makeLocation()
    const first = await boot(location, T0)
    await first.app.control.revoke('old')
    await first.app.stop()
    const producer = new Celeriac({ name: 'revokes', storage: location.open(), clock: virtualClock({ now: T0 + REVOKE_EXPIRES + 1 }), consume: false })
    await producer.start()
    expect(producer.inspect.revoked()).toEqual([])
    await producer.stop()
    expect(await storedRevokes(location)).toEqual([])
  })

  it('keeps the REVOKES_MAX most recent ids: the oldest are forgotten, in storage too, and stay forgotten after a restart', async () => {
    const location = makeLocation()
    const first = await boot(location, T0)
    await first.app.control.revoke(['oldest', 'older'])
    await first.app.control.revoke(Array.from({ length: REVOKES_MAX - 1 }, (_, i) => `id-${String(i)}`))
    const remembered = first.app.inspect.revoked()
    expect(remembered).toHaveLength(REVOKES_MAX)
    expect(remembered).not.toContain('oldest')
    expect(remembered).toContain('older')
    await first.app.stop()
    const stored = await storedRevokes(location)
    expect(stored).toHaveLength(REVOKES_MAX)
    expect(stored).not.toContain('oldest')

    const second = await boot(location, T0 + HOUR)
    expect(second.app.inspect.revoked()).toHaveLength(REVOKES_MAX)
    const oldest = await second.mark.applyAsync(['oldest'], { taskId: 'oldest' })
    const older = await second.mark.applyAsync(['older'], { taskId: 'older' })
    await second.app.whenIdle()
    expect(await oldest.get()).toBe('oldest')
    expect(await older.state()).toBe(states.REVOKED)
    await second.app.stop()
  }, 60_000)
})

describe('revoked set across handles [indexedDB]', () => {
  /** Polls (bounded, real time) until `check` holds: notifications between handles arrive in real time. */
  async function eventually(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(check()).toBe(true)
  }

  it("a revoke made through another handle is remembered here, and forgotten once that handle's entry is deleted", async () => {
    const [, makeLocation] = locations[1]!
    const location = makeLocation()
    const consumer = await boot(location, T0)
    const producer = new Celeriac({ name: 'revokes', storage: location.open(), clock: virtualClock({ now: T0 }), consume: false })
    await producer.start()
    await producer.control.revoke('elsewhere')
    await eventually(() => consumer.app.inspect.revoked().includes('elsewhere'))
    const raw = location.open()
    await raw.open()
    await raw.write([{ op: 'delete', ns: 'revoked', key: 'elsewhere' }])
    await raw.close()
    await eventually(() => !consumer.app.inspect.revoked().includes('elsewhere'))
    await producer.stop()
    await consumer.app.stop()
  })
})
