/**
 * One run of a task id at a time in an engine (NOTES, "one run per task id"): a message of an id
 * whose earlier run is still here (its hooks running) waits until that run leaves, then runs, on
 * every storage and executor; the queue's slots and the engine's books are left as they were.
 * On a transport the broker still holds the id until the run's delivery is acked, after its
 * hooks: a send of it meanwhile is deduped by id (the Transport contract, BullMQ's jobId rule),
 * so only the first runs there.
 */
import { afterEach, expect, it } from 'vitest'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('one run of an id at a time', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a send of a taskId whose earlier run still runs its hooks runs once they are done; the queue keeps its slots', async () => {
    // Two slots: a slot either run kept would make the two naps below run one after the other.
    h = await setup(combo, { queues: { default: { concurrency: 2 } } })
    await h.tasks.opsResendInHooks.applyAsync(['first'], { taskId: 'one-id' })
    await h.clock.runAll()
    const second = combo.transport === undefined ? ['body second', 'hooks after second'] : []
    expect(h.lines()).toEqual(['body first', 'hooks after first', ...second])
    expect(h.app.inspect.active()).toEqual([])
    expect(h.app.inspect.reserved()).toEqual([])
    // Nothing of the two runs holds a slot: two naps run side by side.
    const start = h.clock.now()
    const naps = await Promise.all([h.tasks.opsNapper.delay(1_000), h.tasks.opsNapper.delay(1_000)])
    await h.clock.runAll()
    expect(await Promise.all(naps.map((r) => r.get()))).toEqual([1_000, 1_000])
    expect(h.clock.now() - start).toBe(1_000)
  })
})
