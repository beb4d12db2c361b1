/**
 * `Reject`, as Celery's worker handles it: the message is rejected, with `requeue` put back on its
 * queue (redelivered, behind what is already waiting) or dropped, and `task-rejected` is sent
 * instead of `task-failed`. celeriac stores a dropped one as FAILURE with the `Reject` error
 * (NOTES.md), so `get()` does not wait forever.
 */
import { afterEach, expect, it } from 'vitest'
import { Reject, states } from '../../src/index.js'
import { pick, record } from './event-log.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('reject', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('Reject without requeue: FAILURE with the Reject error as itself; task-rejected (requeue false), no task-failed; never runs again', async () => {
    h = await setup(combo)
    const events = record(h)
    const t0 = h.clock.now()
    const r = await h.tasks.opsReject.delay('R', false)
    await h.clock.runAll()
    expect(await r.state()).toBe(states.FAILURE)
    const error = await r.get().then(
      () => expect.unreachable('get() should have rejected'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(Reject)
    expect(error).toMatchObject({ name: 'Reject', code: 'REJECT', message: 'R does not want this message', requeue: false })
    expect(await r.info()).toBeInstanceOf(Reject)
    expect(events.map((e) => [e.type, e.event.timestamp - t0])).toEqual([
      ['task-sent', 0],
      ['task-received', 0],
      ['task-started', 0],
      ['task-rejected', 100],
    ])
    const [rejected] = pick(events, 'task-rejected')
    expect(rejected).toEqual({ id: r.id, name: 'ops.reject', timestamp: t0 + 100, queue: 'default', retries: 0, parentId: null, rootId: r.id, requeue: false })
    // No hooks after a Reject (Celery's IGNORE_STATES include REJECTED).
    expect(h.lines()).toEqual(['R runs; redelivered false'])
    expect(h.app.inspect.reserved()).toEqual([])
    expect(h.app.inspect.scheduled()).toEqual([])
  })

  it('Reject with requeue: the message goes back to the end of its queue, redelivered; received and started again (not sent again), then SUCCESS', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    const events = record(h)
    const t0 = h.clock.now()
    const r = await h.tasks.opsReject.delay('R', true)
    const waiting = await h.tasks.opsNapper.delay(1_000)
    await h.clock.advance(100)
    // Rejected and queued again, behind the task that was already waiting: nothing is stored for it.
    expect(await r.state()).toBe(states.PENDING)
    expect(h.app.inspect.active().map((t) => t.id)).toEqual([waiting.id])
    expect(h.app.inspect.reserved().map((t) => t.id)).toEqual([r.id])
    await h.clock.runAll()
    expect(await r.get()).toBe('R done')
    expect(await waiting.get()).toBe(1_000)
    expect(h.lines()).toEqual(['R runs; redelivered false', 'R runs; redelivered true', 'onSuccess', 'afterReturn SUCCESS'])
    const of = events.filter((e) => e.event.id === r.id).map((e) => [e.type, e.event.timestamp - t0])
    expect(of).toEqual([
      ['task-sent', 0],
      ['task-received', 0],
      ['task-started', 0],
      ['task-rejected', 100],
      ['task-received', 1_100],
      ['task-started', 1_100],
      ['task-succeeded', 1_200],
    ])
    expect(pick(events, 'task-rejected')).toEqual([
      { id: r.id, name: 'ops.reject', timestamp: t0 + 100, queue: 'default', retries: 0, parentId: null, rootId: r.id, requeue: true },
    ])
    expect(pick(events, 'task-failed')).toEqual([])
  })
})
