/**
 * Task events (`app.events`), as Celery's worker sends them: in order, with typed payloads whose
 * timestamps are the engine clock's (virtual here).
 */
import { afterEach, expect, it } from 'vitest'
import { TaskRevokedError, states } from '../../src/index.js'
import { FlakyUpstream } from './tasks-ops.js'
import { pick, record } from './event-log.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('events', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a retried-then-succeeded task: sent, received, started, retried, started, succeeded, with typed payloads', async () => {
    h = await setup(combo)
    const events = record(h)
    const t0 = h.clock.now()
    const r = await h.tasks.opsRetryOnce.delay('job')
    await h.clock.runAll()
    expect(await r.get()).toBe('job ok')
    expect(events.map((e) => e.type)).toEqual(['task-sent', 'task-received', 'task-started', 'task-retried', 'task-started', 'task-succeeded'])
    for (const { event } of events) {
      expect(event).toMatchObject({ id: r.id, name: 'ops.retryOnce', queue: 'default', parentId: null, rootId: r.id })
    }
    // Timestamps are the engine clock: 200 ms of work, a 5 s countdown, 300 ms of work.
    expect(events.map((e) => [e.type, e.event.timestamp - t0, e.event.retries])).toEqual([
      ['task-sent', 0, 0],
      ['task-received', 0, 0],
      ['task-started', 0, 0],
      ['task-retried', 200, 0],
      ['task-started', 5_200, 1],
      ['task-succeeded', 5_500, 1],
    ])
    const [sent] = pick(events, 'task-sent')
    expect(sent).toMatchObject({ args: ['job'], eta: null, expires: null, priority: 0 })
    const [retried] = pick(events, 'task-retried')
    expect(retried!.eta).toBe(t0 + 5_200)
    expect(retried!.error).toBeInstanceOf(FlakyUpstream)
    expect(retried!.error!.message).toBe('upstream hiccup for job')
    const [succeeded] = pick(events, 'task-succeeded')
    expect(succeeded!.result).toBe('job ok')
    expect(succeeded!.runtime).toBe(300)
  })

  it('a failing task: sent, received, started, failed, with the error as itself and the runtime', async () => {
    h = await setup(combo)
    const events = record(h)
    const t0 = h.clock.now()
    const r = await h.tasks.opsFails.delay()
    await h.clock.runAll()
    await expect(r.get()).rejects.toBeInstanceOf(RangeError)
    expect(events.map((e) => [e.type, e.event.timestamp - t0])).toEqual([
      ['task-sent', 0],
      ['task-received', 0],
      ['task-started', 0],
      ['task-failed', 250],
    ])
    const [failed] = pick(events, 'task-failed')
    expect(failed!.error).toBeInstanceOf(RangeError)
    expect(failed!.error.message).toBe('out of range')
    expect(failed!.runtime).toBe(250)
    expect(failed).toMatchObject({ id: r.id, name: 'ops.fails', retries: 0 })
  })

  it('task-sent carries the eta, expiry, priority, queue and args of the send; results in events are decoded data', async () => {
    h = await setup(combo, { queues: { default: {}, reports: {} } })
    const events = record(h)
    const t0 = h.clock.now()
    const value = { at: new Date(5), tags: new Set(['a']), n: 10n }
    const r = await h.tasks.opsEcho.applyAsync([value], { countdown: 2_000, expires: 60_000, priority: 7, queue: 'reports' })
    const [sent] = pick(events, 'task-sent')
    expect(sent).toMatchObject({ id: r.id, name: 'ops.echo', eta: t0 + 2_000, expires: t0 + 60_000, priority: 7, queue: 'reports', retries: 0 })
    expect(sent!.args).toEqual([value])
    expect(sent!.timestamp).toBe(t0)
    await h.clock.advance(1_999)
    expect(pick(events, 'task-started')).toEqual([])
    await h.clock.advance(1)
    const [started] = pick(events, 'task-started')
    expect(started!.timestamp).toBe(t0 + 2_000)
    const [succeeded] = pick(events, 'task-succeeded')
    expect(succeeded!.result).toEqual(value)
    expect((succeeded!.result as typeof value).at).toBeInstanceOf(Date)
    expect(succeeded!.queue).toBe('reports')
  })

  it("an expired task: sent, then revoked with reason 'expired' at its due time, never started", async () => {
    h = await setup(combo)
    const events = record(h)
    const t0 = h.clock.now()
    const r = await h.tasks.opsFree.applyAsync(['stale'], { countdown: 10_000, expires: 5_000 })
    await h.clock.runAll()
    expect(await r.state()).toBe(states.REVOKED)
    await expect(r.get()).rejects.toBeInstanceOf(TaskRevokedError)
    expect(events.map((e) => e.type)).toEqual(['task-sent', 'task-revoked'])
    const [revoked] = pick(events, 'task-revoked')
    expect(revoked).toMatchObject({ id: r.id, name: 'ops.free', reason: 'expired', timestamp: t0 + 10_000 })
  })

  it('events of tasks that run side by side keep each task in its own order', async () => {
    h = await setup(combo)
    const events = record(h)
    const a = await h.tasks.opsRetryOnce.delay('a')
    const b = await h.tasks.opsNapper.delay(1_000)
    const c = await h.tasks.opsFails.delay()
    await h.clock.runAll()
    const of = (id: string): string[] => events.filter((e) => e.event.id === id).map((e) => e.type)
    expect(of(a.id)).toEqual(['task-sent', 'task-received', 'task-started', 'task-retried', 'task-started', 'task-succeeded'])
    expect(of(b.id)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded'])
    expect(of(c.id)).toEqual(['task-sent', 'task-received', 'task-started', 'task-failed'])
    expect(pick(events, 'task-succeeded').find((e) => e.id === b.id)!.runtime).toBe(1_000)
  })
})
