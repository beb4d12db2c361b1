/**
 * Periodic tasks on every storage × executor: each slot is sent once, as task
 * `<schedule id>@<due ms>`, on the engine clock, and a restart on the same storage keeps the
 * schedule's place (the slots missed while down run once, the default). Transports have no
 * schedules yet (upsert is a ConfigError there; see NOTES.md, "Periodic tasks").
 */
import { afterEach, expect, it } from 'vitest'
import { states } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const MINUTE = 60_000

forEachCombo('schedules', (combo) => {
  const harnesses: Harness[] = []
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.stop()
  })

  it('sends each slot once on the engine clock, and after a restart runs the slots missed while down once', async () => {
    const storage = combo.storage()
    const first = await setup(combo, { storage })
    harnesses.push(first)
    const { clock } = first
    const t0 = clock.now()
    const schedules = { every10: { every: 10 * MINUTE, signature: first.tasks.coreMark.s('tick') } }
    await first.app.schedules.upsert('every10', { every: 10 * MINUTE }, first.tasks.coreMark.s('tick'))
    await clock.advance(60 * MINUTE)
    expect(first.lines()).toEqual(Array(6).fill('tick'))
    for (let k = 1; k <= 6; k++) expect(await first.app.AsyncResult(`every10@${String(t0 + k * 10 * MINUTE)}`).state()).toBe(states.SUCCESS)
    await first.stop()
    harnesses.splice(0)

    await clock.advance(35 * MINUTE) // down: the slots at 70, 80 and 90 min are missed
    const second = await setup(combo, { storage, clock, schedules })
    harnesses.push(second)
    await clock.advance(0)
    expect(second.lines()).toEqual(['tick'])
    const missedRun = combo.transport === undefined ? 90 : 70
    expect(await second.app.AsyncResult(`every10@${String(t0 + missedRun * MINUTE)}`).get()).toBe('tick')
    await clock.advance(10 * MINUTE)
    expect(second.lines()).toEqual(['tick', 'tick'])
    expect(await second.app.schedules.list()).toMatchObject([{ id: 'every10', count: 8, next: t0 + 110 * MINUTE }])
  })
})
