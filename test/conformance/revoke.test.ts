/**
 * Revocation, as in Celery: a revoked task that has not started never runs and is REVOKED; the
 * id is remembered, so a later send with it never runs either; `terminate` stops a running task
 * (a worker is killed and replaced; inline, the task's signal aborts); without `terminate` a
 * running task finishes and its real outcome wins.
 */
import { afterEach, expect, it } from 'vitest'
import { TaskRevokedError, states } from '../../src/index.js'
import type { TaskRevokedEvent } from '../../src/index.js'
import { REVOKE_EXPIRES } from '../../src/core/engine/revoked.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

const SECOND = 1_000

async function revokedError(promise: Promise<unknown>): Promise<TaskRevokedError> {
  const error = await promise.then(
    () => expect.unreachable('get() should have rejected'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TaskRevokedError)
  expect((error as TaskRevokedError).code).toBe('TASK_REVOKED')
  return error as TaskRevokedError
}

function revokedEvents(h: Harness): TaskRevokedEvent[] {
  const out: TaskRevokedEvent[] = []
  h.app.events.on('task-revoked', (e) => out.push(e))
  return out
}

/** Resolves when a task logs `text`. */
function logged(h: Harness, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (h.lines().includes(text)) return resolve()
    const listener = (e: { text: string }): void => {
      if (e.text !== text) return
      h.app.events.off('log', listener)
      resolve()
    }
    h.app.events.on('log', listener)
  })
}

forEachCombo('revoke', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())
  const inline = combo.name.includes('inline')

  it('revoke before start: a queued task never runs and is REVOKED at once (reason revoked)', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    const events = revokedEvents(h)
    const blocker = await h.tasks.opsNapper.delay(2 * SECOND)
    const victim = await h.tasks.opsFree.delay('victim')
    const bystander = await h.tasks.opsFree.delay('bystander')
    await h.clock.advance(0)
    expect(h.app.inspect.reserved().map((t) => t.id)).toEqual([victim.id, bystander.id])
    await victim.revoke()
    expect(await victim.state()).toBe(states.REVOKED)
    expect(h.app.inspect.reserved().map((t) => t.id)).toEqual([bystander.id])
    expect(h.app.inspect.revoked()).toContain(victim.id)
    await h.clock.runAll()
    expect(await blocker.get()).toBe(2 * SECOND)
    expect(await bystander.get()).toBe('bystander')
    expect(h.lines()).toEqual(['free bystander'])
    const error = await revokedError(victim.get())
    expect(error.reason).toBe('revoked')
    expect(events.map((e) => [e.id, e.name, e.reason])).toEqual([[victim.id, 'ops.free', 'revoked']])
    expect((await victim.status()).dateDone).toBeInstanceOf(Date)
  })

  it('revoke of a scheduled (countdown) task: it leaves the schedule, is REVOKED before its time and never runs', async () => {
    h = await setup(combo)
    const events = revokedEvents(h)
    const victim = await h.tasks.opsFree.applyAsync(['victim'], { countdown: 60 * SECOND })
    const kept = await h.tasks.opsFree.applyAsync(['kept'], { countdown: 60 * SECOND })
    expect(h.app.inspect.scheduled().map((t) => t.id)).toEqual([victim.id, kept.id])
    await h.clock.advance(10 * SECOND)
    await h.app.control.revoke(victim.id)
    expect(h.app.inspect.scheduled().map((t) => t.id)).toEqual([kept.id])
    expect(await victim.state()).toBe(states.REVOKED)
    expect(events.map((e) => e.id)).toEqual([victim.id])
    await h.clock.advance(50 * SECOND)
    expect(await kept.get()).toBe('kept')
    expect(h.lines()).toEqual(['free kept'])
    expect((await revokedError(victim.get())).reason).toBe('revoked')
  })

  it('control.revoke takes several ids; terminate on a task that has not started is a plain revoke', async () => {
    h = await setup(combo, { queues: { default: { concurrency: 1 } } })
    await h.tasks.opsNapper.delay(SECOND)
    const a = await h.tasks.opsFree.delay('a')
    const b = await h.tasks.opsFree.applyAsync(['b'], { countdown: 5 * SECOND })
    const c = await h.tasks.opsFree.delay('c')
    await h.app.control.revoke([a.id, b.id])
    await c.revoke({ terminate: true })
    await h.clock.runAll()
    for (const r of [a, b, c]) expect((await revokedError(r.get())).reason).toBe('revoked')
    expect(h.lines()).toEqual([])
    expect(h.app.inspect.revoked()).toEqual(expect.arrayContaining([a.id, b.id, c.id]))
  })

  it('revoke of an unknown id is allowed and remembered: a later send with that id never runs', async () => {
    h = await setup(combo)
    const events = revokedEvents(h)
    await h.app.control.revoke(['ghost-1', 'ghost-2'])
    expect(h.app.inspect.revoked()).toEqual(expect.arrayContaining(['ghost-1', 'ghost-2']))
    // Nothing is known of it yet: PENDING, as any unknown id.
    expect(await h.app.AsyncResult('ghost-1').state()).toBe(states.PENDING)
    const now = await h.tasks.opsFree.applyAsync(['now'], { taskId: 'ghost-1' })
    const later = await h.tasks.opsFree.applyAsync(['later'], { taskId: 'ghost-2', countdown: 30 * SECOND })
    await h.clock.advance(0)
    expect(await now.state()).toBe(states.REVOKED)
    // As a Celery worker does when it receives a revoked id with an eta: discarded at once.
    expect(await later.state()).toBe(states.REVOKED)
    expect(h.app.inspect.scheduled()).toEqual([])
    await h.clock.runAll()
    expect(h.lines()).toEqual([])
    expect((await revokedError(now.get())).reason).toBe('revoked')
    expect((await revokedError(later.get())).reason).toBe('revoked')
    expect(events.map((e) => e.id).sort()).toEqual(['ghost-1', 'ghost-2'])
    // Other ids are unaffected.
    expect(await (await h.tasks.opsFree.delay('other')).get()).toBe('other')
  })

  it('a remembered revoke expires after REVOKE_EXPIRES (Celery: 3 h) of engine clock: the id is forgotten and a send with it runs', async () => {
    h = await setup(combo)
    await h.app.control.revoke(['ghost', 'later-ghost'])
    await h.clock.advance(REVOKE_EXPIRES - 1_000)
    // Revoking again starts the id's expiry again.
    await h.app.control.revoke('later-ghost')
    await h.clock.advance(1_000)
    expect(h.app.inspect.revoked().sort()).toEqual(['ghost', 'later-ghost'])
    await h.clock.advance(1)
    expect(h.app.inspect.revoked()).toEqual(['later-ghost'])
    const ghost = await h.tasks.opsFree.applyAsync(['ghost'], { taskId: 'ghost' })
    const laterGhost = await h.tasks.opsFree.applyAsync(['later-ghost'], { taskId: 'later-ghost' })
    await h.clock.runAll()
    expect(await ghost.get()).toBe('ghost')
    expect((await revokedError(laterGhost.get())).reason).toBe('revoked')
    expect(h.lines()).toEqual(['free ghost'])
  })

  it('terminate of a cooperative running task: REVOKED (reason terminated) at once, its signal aborted, and it never finishes', async () => {
    h = await setup(combo)
    const events = revokedEvents(h)
    const r = await h.tasks.opsCooperative.delay('T', 5)
    await h.clock.advance(1_500)
    expect(await r.state()).toBe(states.STARTED)
    expect(h.app.inspect.active().map((t) => t.id)).toEqual([r.id])
    await h.app.control.revoke(r.id, { terminate: true })
    expect(await r.state()).toBe(states.REVOKED)
    expect(h.app.inspect.active()).toEqual([])
    expect((await revokedError(r.get())).reason).toBe('terminated')
    expect(events.map((e) => [e.id, e.reason])).toEqual([[r.id, 'terminated']])
    await h.clock.advance(10 * SECOND)
    if (inline) {
      // No thread to kill: the task saw its signal abort (self.sleep threw the reason) and stopped.
      expect(h.lines()).toEqual(['T working', 'T aborted by TaskRevokedError; isAborted true; signal TaskRevokedError'])
    } else {
      // Its worker was killed mid-task: nothing after 'working', and a replacement takes new work.
      expect(h.lines()).toEqual(['T working'])
    }
    // The stored REVOKED stays; the engine keeps working.
    expect(await r.state()).toBe(states.REVOKED)
    expect(await (await h.tasks.opsFree.delay('after')).get()).toBe('after')
  })

  it('terminate wakes a task that waits on self.signal alone (no clock involved)', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsSignalWaiter.delay()
    await logged(h, 'waiting on signal')
    await r.revoke({ terminate: true })
    expect(await r.state()).toBe(states.REVOKED)
    expect((await revokedError(r.get())).reason).toBe('terminated')
    if (inline) {
      await logged(h, 'signal aborted: TaskRevokedError; isAborted true')
      expect(h.lines()).toEqual(['waiting on signal', 'signal aborted: TaskRevokedError; isAborted true'])
    }
    await h.app.whenIdle()
    expect(await r.state()).toBe(states.REVOKED)
  })

  it('revoke without terminate of a running task: it runs on, its signal is not aborted, and its real outcome wins', async () => {
    h = await setup(combo)
    const events = revokedEvents(h)
    const r = await h.tasks.opsCooperative.delay('R', 3)
    await h.clock.advance(SECOND)
    await r.revoke()
    expect(h.app.inspect.revoked()).toContain(r.id)
    expect(await r.state()).toBe(states.STARTED)
    await h.clock.advance(2 * SECOND)
    expect(await r.get()).toBe('R done')
    expect(await r.state()).toBe(states.SUCCESS)
    expect(h.lines()).toEqual(['R working', 'R finished; isAborted false'])
    expect(events).toEqual([])
  })

  it('revoke without terminate of a running task that then retries: the retry never runs', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsRetryLater.delay(500)
    await h.clock.advance(100)
    await r.revoke()
    await h.clock.advance(400)
    // The attempt ended with a retry; the revoked id is not run again.
    expect(await r.state()).toBe(states.REVOKED)
    await h.clock.runAll()
    expect(h.lines()).toEqual(['attempt 0'])
    expect((await revokedError(r.get())).reason).toBe('revoked')
  })

  it('revoke of a task waiting between retries: the next attempt never runs', async () => {
    h = await setup(combo)
    const r = await h.tasks.opsRetryLater.delay(100)
    await h.clock.advance(100)
    expect(await r.state()).toBe(states.RETRY)
    const waiting = h.app.inspect.scheduled()
    expect(waiting.map((t) => [t.id, t.retries])).toEqual([[r.id, 1]])
    await r.revoke()
    expect(h.app.inspect.scheduled()).toEqual([])
    expect(await r.state()).toBe(states.REVOKED)
    await h.clock.runAll()
    expect(h.lines()).toEqual(['attempt 0'])
  })

  it('revoke of a finished task changes nothing: a stored SUCCESS is never overwritten', async () => {
    h = await setup(combo)
    const events = revokedEvents(h)
    const r = await h.tasks.opsFree.delay('done')
    expect(await r.get()).toBe('done')
    await r.revoke()
    await r.revoke({ terminate: true })
    await h.clock.runAll()
    expect(await r.state()).toBe(states.SUCCESS)
    expect(await r.get()).toBe('done')
    expect(events).toEqual([])
  })
})
