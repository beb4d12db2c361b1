/** Sending and reading results: delay, applyAsync, sendTask, apply, call, AsyncResult, errors. */
import { afterEach, expect, it } from 'vitest'
import { EagerResult, TimeoutError, states } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { PaymentDeclined } from './tasks-core.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('results', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('delay then get returns the value; the handle reports SUCCESS', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreAdd.delay(2, 3)
    expect(await r.get()).toBe(5)
    expect(await r.state()).toBe(states.SUCCESS)
    expect(await r.ready()).toBe(true)
    expect(await r.successful()).toBe(true)
    expect(await r.failed()).toBe(false)
    expect(await r.info()).toBe(5)
    const status = await r.status()
    expect(status.state).toBe(states.SUCCESS)
    expect(status.result).toBe(5)
    expect(status.task).toBe('core.add')
  })

  it('a task not yet run is PENDING and not ready', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreAdd.applyAsync([1, 1], { countdown: 1_000 })
    expect(await r.state()).toBe(states.PENDING)
    expect(await r.ready()).toBe(false)
    expect(await h.app.AsyncResult('never-sent').state()).toBe(states.PENDING)
  })

  it('sendTask sends by name, and app.AsyncResult(id) reads the same result', async () => {
    h = await setup(combo)
    const r = await h.app.sendTask<number>('core.add', [20, 22])
    expect(await r.get()).toBe(42)
    expect(await h.app.AsyncResult<number>(r.id).get()).toBe(42)
  })

  it('a bound task sees its request: id, name, args, retries, queue, priority, headers', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreRequest.applyAsync(['m'], { priority: 7, headers: { correlationId: 'abc' } })
    const request = await r.get()
    expect(request).toMatchObject({
      id: r.id,
      task: 'core.request',
      args: ['m'],
      retries: 0,
      isEager: false,
      calledDirectly: false,
      queue: 'default',
      priority: 7,
      headers: { correlationId: 'abc' },
      parentId: null,
      rootId: r.id,
    })
  })

  it('request.eta and request.expires are the times it was sent with; request.hostname is the app name', async () => {
    h = await setup(combo)
    const sentAt = h.clock.now()
    const later = await h.tasks.coreRequest.applyAsync(['later'], { countdown: 1_000, expires: 60_000 })
    await h.clock.advance(1_000)
    expect(await later.get()).toMatchObject({ eta: sentAt + 1_000, expires: sentAt + 60_000, hostname: 'conformance' })
    const at = new Date(h.clock.now() + 500)
    const byDate = await h.tasks.coreRequest.applyAsync(['by date'], { eta: at, expires: new Date(at.getTime() + 500) })
    await h.clock.advance(500)
    expect(await byDate.get()).toMatchObject({ eta: at.getTime(), expires: at.getTime() + 500 })
    expect(await (await h.tasks.coreRequest.delay('now')).get()).toMatchObject({ eta: null, expires: null, hostname: 'conformance' })
  })

  it('apply runs now and returns an EagerResult; call runs the function directly', async () => {
    h = await setup(combo)
    const eager = await h.tasks.coreRequest.apply(['e'])
    expect(eager).toBeInstanceOf(EagerResult)
    expect(await eager.state()).toBe(states.SUCCESS)
    expect((await eager.get()).isEager).toBe(true)
    const failed = await h.tasks.coreDecline.apply([5])
    expect(await failed.state()).toBe(states.FAILURE)
    await expect(failed.get()).rejects.toBeInstanceOf(PaymentDeclined)
    expect(h.tasks.coreAdd.call(4, 5)).toBe(9)
  })

  it('a base class overriding call wraps the task function (super.call)', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreDoubled.delay(4)
    expect(await r.get()).toBe(10)
    expect(await h.tasks.coreDoubled.call(1)).toBe(4)
  })

  it("get() rejects with the task's own error class: name, message, code, data, cause, stack", async () => {
    h = await setup(combo)
    const r = await h.tasks.coreDecline.delay(120)
    const error = await r.get().then(
      () => expect.unreachable('the task failed'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(PaymentDeclined)
    const declined = error as PaymentDeclined
    expect(declined.name).toBe('PaymentDeclined')
    expect(declined.message).toBe('card declined for 120')
    expect(declined.code).toBe('E_DECLINED')
    expect(declined.amount).toBe(120)
    expect(declined.cause).toBeInstanceOf(RangeError)
    expect((declined.cause as Error).message).toBe('limit reached')
    expect(declined.stack).toContain('card declined for 120')
    expect(await r.state()).toBe(states.FAILURE)
    expect(await r.failed()).toBe(true)
    expect((await r.status()).traceback).toContain('PaymentDeclined')
  })

  it('built-in errors keep their class; get({ propagate: false }) returns the error', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreTypeError.delay({})
    await expect(r.get()).rejects.toBeInstanceOf(TypeError)
    const returned = await r.get({ propagate: false })
    expect(returned).toBeInstanceOf(TypeError)
  })

  it('get({ timeout }) rejects with TimeoutError after that much clock time, and the task still runs later', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreAdd.applyAsync([1, 2], { countdown: 5_000 })
    const waiting = r.get({ timeout: 1_000 })
    const settled = waiting.then(
      () => 'resolved',
      (e: unknown) => e,
    )
    await h.clock.advance(999)
    expect(await Promise.race([settled, Promise.resolve('still waiting')])).toBe('still waiting')
    await h.clock.advance(1)
    const error = await settled
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).code).toBe('TIMEOUT')
    await h.clock.advance(4_000)
    expect(await r.get()).toBe(3)
  })

  it('forget() drops the stored result: the id reads PENDING again', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreAdd.delay(1, 1)
    expect(await r.get()).toBe(2)
    await r.forget()
    expect(await r.state()).toBe(states.PENDING)
  })

  it('resultExpires: an expired result reads PENDING, and its record is deleted within one purge interval (here the TTL)', async () => {
    const storage = combo.storage()
    h = await setup({ ...combo, storage: () => storage }, { resultExpires: 60_000 })
    const old = await h.tasks.coreAdd.delay(1, 1)
    expect(await old.get()).toBe(2)
    expect(await storage.get('results', old.id)).toMatchObject({ state: states.SUCCESS })
    await h.clock.advance(61_000)
    expect(await old.state()).toBe(states.PENDING)
    const fresh = await h.tasks.coreAdd.delay(2, 2)
    expect(await fresh.get()).toBe(4)
    // TTL + one interval after `old` was stored: its record is gone; `fresh` has a second left.
    await h.clock.advance(59_000)
    expect(await storage.get('results', old.id)).toBeUndefined()
    expect(await fresh.get()).toBe(4)
    expect(await storage.get('results', fresh.id)).toMatchObject({ state: states.SUCCESS })
    await h.clock.advance(61_000)
    expect(await fresh.state()).toBe(states.PENDING)
    expect(await storage.get('results', fresh.id)).toBeUndefined()
  })

  it('resultExpires: a restart deletes the results that expired while the app was stopped', async () => {
    const storage = combo.storage()
    const clock = virtualClock()
    h = await setup({ ...combo, storage: () => storage }, { resultExpires: 60_000, clock })
    const r = await h.tasks.coreAdd.delay(1, 1)
    expect(await r.get()).toBe(2)
    await h.stop()
    await clock.advance(60_000)
    h = await setup({ ...combo, storage: () => storage }, { resultExpires: 60_000, clock })
    expect(await storage.get('results', r.id)).toBeUndefined()
  })

  it('children lists the tasks a task sent through self.send', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreParent.delay(21)
    const childId = await r.get()
    await h.app.whenIdle()
    const children = await r.children()
    expect(children.map((c) => c.id)).toEqual([childId])
    expect(await children[0]!.get()).toBe(42)
    expect((await h.app.AsyncResult(childId).status()).parentId).toBe(r.id)
  })

  it('whenIdle resolves once every sent task is done', async () => {
    h = await setup(combo)
    const results = await Promise.all([1, 2, 3].map((n) => h.tasks.coreAdd.delay(n, n)))
    await h.app.whenIdle()
    for (const r of results) expect(await r.ready()).toBe(true)
  })

  it('ignoreResult stores nothing: the task runs, its handle stays PENDING; a handle of the bare id waits, and times out', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreMark.applyAsync(['ignored'], { ignoreResult: true })
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['ignored'])
    expect(await r.state()).toBe(states.PENDING)
    // The send's handle knows (get() resolves to undefined, celery-rules.test.ts); the app's
    // handle of the id does not, and waits as Celery's AsyncResult(id).get() does.
    const waiting = h.app
      .AsyncResult(r.id)
      .get({ timeout: 500 })
      .catch((e: unknown) => e)
    await h.clock.advance(500)
    expect(await waiting).toBeInstanceOf(TimeoutError)
  })
})
