/**
 * The failure matrix: every way a run can end badly × every place it can be in a workflow, on
 * every storage × executor. Each cell sends one workflow, provokes the failure, lets the engine
 * settle, and checks what a user sees: the state and error of the failed run, of the steps after
 * it and of a chord's body; how often the user's `linkError` ran; that the engine is idle.
 * The kinds, positions and expectations are tables in `failure-matrix.ts`.
 */
import { afterEach, expect, it } from 'vitest'
import { states } from '../../src/index.js'
import type { AsyncResult } from '../../src/index.js'
import { SECOND, expectedErrbacks, expectedResults, ids, kinds, neverRun, positions } from './failure-matrix.js'
import type { Expected, Kind, Position } from './failure-matrix.js'
import { forEachCombo, setup } from './setup.js'
import type { Combo, Harness } from './setup.js'

/**
 * A cell settles in well under a second; one whose engine never settles (a run that stays in
 * `running` keeps the virtual clock waiting for it) fails after this much real time, saying so.
 */
const STUCK_AFTER = 3_000

forEachCombo('failure matrix', (combo) => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.stop()
    h = undefined
  })

  for (const kind of kinds) {
    for (const position of positions) {
      const title = `${kind.name} × ${position.name}`
      const skip = kind.skip?.(combo)
      if (skip !== undefined) {
        it.skip(`${title} (not here: ${skip})`, () => undefined)
        continue
      }
      it(title, async () => {
        h = await setup(onStorageOf(kind, combo))
        await runCell(h, kind, position)
      })
    }
  }
})

function onStorageOf(kind: Kind, combo: Combo): Combo {
  const wrap = kind.storage
  return wrap === undefined ? combo : { ...combo, storage: () => wrap(combo.storage()) }
}

async function runCell(h: Harness, kind: Kind, position: Position): Promise<void> {
  const x = kind.signature(h.tasks).set({ taskId: ids.x })
  const handle = (await position.build(h.tasks, x, h.tasks.errback.s('fm')).delay()) as AsyncResult<unknown>
  expect(handle.id).toBe(position.handle)
  await unlessStuck(h, async () => {
    await h.clock.advance(SECOND)
    await kind.act?.(h)
    await h.clock.runAll()
    await h.app.whenIdle()
  })

  for (const [id, want] of expectedResults(kind, position)) {
    await expectResult(id === handle.id ? handle : h.app.AsyncResult(id), want)
  }
  const errbacks = h.lines().filter((line) => line.startsWith('errback fm '))
  expect.soft(errbacks, "the user's linkError runs").toEqual(expectedErrbacks(kind, position).map((id) => `errback fm ${id}`))
  const never = new Set(neverRun(kind, position).map((label) => `ran ${label}`))
  expect
    .soft(
      h.lines().filter((line) => never.has(line)),
      'tasks that must never run',
    )
    .toEqual([])
  expect.soft(h.app.inspect.stats(), 'the engine ends idle').toMatchObject({ running: 0, ready: 0, scheduled: 0 })
  expect.soft(h.app.inspect.active(), 'nothing active').toEqual([])
}

/** Checks one task's state, and when it is ready, the error its `get()` rejects with (and that error's cause). */
async function expectResult(r: AsyncResult<unknown>, want: Expected): Promise<void> {
  const state = await r.state()
  expect.soft(state, `state of ${r.id}`).toBe(want.state)
  if (want.error === undefined || (state !== states.FAILURE && state !== states.REVOKED)) return
  const error = await r.get().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect.soft(error, `get() on ${r.id} rejects`).toBeInstanceOf(want.error)
  if (want.reason !== undefined) expect.soft((error as { reason?: unknown } | undefined)?.reason, `the reason ${r.id} was revoked`).toBe(want.reason)
  if (want.cause !== undefined) expect.soft((error as Error | undefined)?.cause, `the cause of ${r.id}'s error`).toBeInstanceOf(want.cause)
}

/**
 * Runs `work` (moving the virtual clock), or fails after STUCK_AFTER ms of real time: the clock
 * waits for every run to end or park, so a run the engine never ends would hang the cell.
 */
async function unlessStuck(h: Harness, work: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const stats = JSON.stringify(h.app.inspect.stats())
      const errors = h.logs.filter((l) => l.level === 'error').map((l) => l.text)
      reject(
        new Error(
          `the engine did not settle within ${String(STUCK_AFTER)} ms of real time: a run never ended (stats ${stats}; errors logged ${JSON.stringify(errors)})`,
        ),
      )
    }, STUCK_AFTER)
  })
  try {
    await Promise.race([work(), stuck])
  } finally {
    clearTimeout(timer)
  }
}
