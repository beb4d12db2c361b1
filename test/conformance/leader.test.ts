/**
 * `consume: 'leader'`: a new leader recovers what the previous consumer left, and the user sends
 * while it does (in Node, with no Web Locks, the app leads at once, inside `start()`; in
 * Chromium it is elected after `start()` returned). Recovery must be over before the first run is dispatched, or a message sent
 * meanwhile is both scheduled by its send and requeued by recovery (it runs twice), or is leased
 * by its run and then failed by recovery as lost (WorkerLostError on a running task). Repeated
 * many times per combination, with work left over from an earlier producer each time, so that
 * the race has its chance (it showed on the first round with threads before the fix).
 *
 * The race is made to happen every round: the leader's storage holds recovery's read of the
 * queued messages until the sends are stored (a slow disk or a busy
 * IndexedDB does the same). Real time otherwise: the tasks return at once, and each wait is
 * bounded by a `get()` timeout.
 */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, chord, inline, states } from '../../src/index.js'
import type { AsyncResult, Storage } from '../../src/index.js'
import type { Combo } from './setup.js'
import { forEachCombo } from './setup.js'
import { defineOpsTasks } from './tasks-ops.js'
import { defineWorkflowTasks } from './tasks-workflows.js'

/**
 * `storage`, whose reads of `messages` wait until `release()` is called; `reading` resolves when
 * the first such read (recovery's) begins.
 */
function holdingMessageReads(storage: Storage): { storage: Storage; reading: Promise<void>; release(): void } {
  let release!: () => void
  let begin!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const reading = new Promise<void>((resolve) => (begin = resolve))
  const held = new Proxy(storage, {
    get(target, property) {
      if (property === 'entries') {
        return async (ns: Parameters<Storage['entries']>[0]) => {
          if (ns === 'messages') {
            begin()
            await released
          }
          return target.entries(ns)
        }
      }
      const value: unknown = Reflect.get(target, property)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  return { storage: held, reading, release }
}

/** Rounds per combination: a worker executor starts its workers each round, so it has fewer. */
const roundsOf = (combo: Combo): number => (combo.name.includes('inline') ? 200 : 5)

forEachCombo('leader start', (combo) => {
  const apps: Celeriac[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
  })

  it('sends while a new leader recovers: every task runs once and none is failed as lost, round after round', async () => {
    const wrong: string[] = []
    const rounds = roundsOf(combo)
    for (let round = 0; round < rounds && wrong.length === 0; round++) {
      const storage = combo.storage()
      // Work an earlier consumer left: queued messages, sent by a producer on this storage.
      const producer = new Celeriac({ name: 'leader', storage, consume: false, executor: inline() })
      // The tasks a round sends, not all ~90 conformance tasks: defining those twice a round was
      // a fifth of an inline round's CPU. (Worker executors load them all in their workers.)
      const before = defineWorkflowTasks(producer)
      await producer.start()
      const { add: add0, sum: sum0 } = before
      const left = await Promise.all([add0.delay(1, 1), add0.delay(2, 2), chord([add0.s(1, 2), add0.s(3, 4)], sum0.s()).delay()])
      await producer.stop()

      const held = holdingMessageReads(storage)
      const app = new Celeriac({ name: 'leader', storage: held.storage, consume: 'leader', executor: combo.executor() })
      apps.push(app)
      const { add, sum } = defineWorkflowTasks(app)
      const { opsNapper: napper } = defineOpsTasks(app)
      const starts = new Map<string, number>()
      app.events.on('task-started', ({ id }) => void starts.set(id, (starts.get(id) ?? 0) + 1))
      // In Node (no Web Locks) start() leads at once and returns once recovery is over; in
      // Chromium it returns before the election. Either way the sends go while recovery reads.
      const starting = app.start()
      await held.reading
      // Two of them still run when recovery reads (20 ms of real time), the others may be done.
      const sent = await Promise.all([add.delay(5, 5), add.delay(6, 6), chord([add.s(7, 7), add.s(8, 8)], sum.s()).delay(), napper.delay(20), napper.delay(20)])
      held.release()
      await starting
      // The producer is stopped: its handles are read again through the new app.
      const handles: AsyncResult<unknown>[] = [...left.map((h) => app.AsyncResult(h.id)), ...sent]
      const values = await Promise.all(handles.map((h) => h.get({ timeout: 10_000 }).catch((error: unknown) => error)))
      for (const [i, value] of values.entries()) {
        if (value instanceof Error) wrong.push(`round ${round}: handle ${i} failed: ${value.name} ${value.message}`)
      }
      expect(values.filter((v) => !(v instanceof Error))).toEqual([2, 4, 10, 10, 12, 30, 20, 20].filter((_, i) => !(values[i] instanceof Error)))
      await app.whenIdle()
      for (const [id, count] of starts) if (count !== 1) wrong.push(`round ${round}: ${id} started ${count} times`)
      // Two adds, two chord members and a body, for each of the two apps' sends; two naps.
      if (starts.size !== 12) wrong.push(`round ${round}: ${starts.size} tasks started, not 12`)
      for (const handle of handles) if ((await handle.state()) !== states.SUCCESS) wrong.push(`round ${round}: ${handle.id} is ${await handle.state()}`)
      await app.stop({ timeout: 1_000 })
      apps.pop()
    }
    expect(wrong).toEqual([])
  }, 180_000)
})
