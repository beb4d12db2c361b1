/**
 * Celery's small rules: a canvas's `taskId`, a direct call's request, `forget()` of a workflow,
 * and `get()` on a task that stores no result.
 */
import { afterEach, expect, it } from 'vitest'
import { GroupResult, Retry, chain, chord, group, states } from '../../src/index.js'
import type { AsyncResult } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

/** Settles after the promises already settled: what `get()` gives if it returned at once. */
const stillWaiting = (): Promise<string> => new Promise((resolve) => setTimeout(() => resolve('still waiting'), 0))

forEachCombo('celery rules', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  // celery/canvas.py `_chain.run` -> `prepare_steps(..., last_task_id)`: "chain(task_id=id) means
  // task id is set for the last task in the chain" (t/unit/tasks/test_canvas.py
  // test_prepare_steps_set_last_task_id_to_chain, test_chain_id_with_explicit_id_preserved).
  it("a chain's taskId names its last task", async () => {
    h = await setup(combo)
    const { add } = h.tasks
    const r = await chain(add.s(1, 1), add.s(2), add.s(3)).applyAsync([], { taskId: 'chain-last' })
    expect(r.id).toBe('chain-last')
    expect(await r.get()).toBe(7)
    expect(r.parent!.id).not.toBe('chain-last')
    expect(await r.parent!.get()).toBe(4)
    expect(await h.app.AsyncResult('chain-last').get()).toBe(7)
    const set = await chain(add.s(2, 2), add.s(2)).set({ taskId: 'chain-set' }).delay()
    expect(set.id).toBe('chain-set')
    expect(await set.get()).toBe(6)
  })

  // celery/canvas.py `chord.apply_async` passes task_id to `chord.run`, which freezes the body
  // with it (`body.freeze(task_id or uuid(), group_id=...)`; t/unit/tasks/test_canvas.py
  // test_chord_run_ensures_body_has_valid_task_id); a chain body gives it to its last task.
  it("a chord's taskId names its body (a chain body: its last task); the header keeps a group id of its own", async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).applyAsync([], { taskId: 'chord-body' })
    expect(r.id).toBe('chord-body')
    expect(await r.get()).toBe(6)
    const header = r.parent as unknown as GroupResult<number[]>
    expect(header).toBeInstanceOf(GroupResult)
    expect(header.id).not.toBe('chord-body')
    expect(await header.get()).toEqual([2, 4])
    const chained = await chord([add.s(1, 1), add.s(2, 2)], chain(sum.s(), add.s(10))).applyAsync([], { taskId: 'chord-chain-body' })
    expect(chained.id).toBe('chord-chain-body')
    expect(await chained.get()).toBe(16)
    // A chain ending in a chord: its id goes on to the chord's body.
    const outer = await chain(add.s(1, 1), chord([add.s(1), add.s(2)], sum.s())).applyAsync([], { taskId: 'chain-chord-body' })
    expect(outer.id).toBe('chain-chord-body')
    expect(await outer.get()).toBe(7)
  })

  it('a chord used as a link, given ids for itself and for its body, still runs: its header tasks get ids when it is sent', async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    const link = chord([add.si(1, 1), add.si(2, 2)], sum.s().set({ taskId: 'link-body' })).set({ taskId: 'link-chord' })
    const r = await add.s(0, 0).set({ link }).delay()
    await h.clock.runAll()
    expect(await r.get()).toBe(0)
    // The chord's own taskId names its body, as at a send.
    expect(await h.app.AsyncResult('link-chord').get({ timeout: 1_000 })).toBe(6)
  })

  it('a group followed by a task in a chain keeps the id given to the group as the chord header id', async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    const r = await chain(group([add.s(1, 1), add.s(2, 2)]).set({ taskId: 'header-group' }), sum.s()).delay()
    expect((r.parent as unknown as GroupResult).id).toBe('header-group')
    expect(await r.get()).toBe(6)
  })

  // celery/app/task.py `Task.__call__` pushes a request (`push_request(args=..., kwargs=...)`)
  // whose `Context.called_directly` defaults to True; a worker's trace sets it False.
  it('task.call() runs with a request that says calledDirectly; a worker run says false', async () => {
    h = await setup(combo)
    const { rulesRequest, rulesRequestBase } = h.tasks
    expect(rulesRequest.call('m')).toEqual({ id: '', task: 'rules.request', args: ['m'], calledDirectly: true, isEager: false, retries: 0 })
    const direct = (await rulesRequestBase.call('b')) as { before: Record<string, unknown> | null; inner: Record<string, unknown> | null }
    expect(direct.before).toMatchObject({ calledDirectly: true, task: 'rules.requestBase' })
    expect(direct.inner).toMatchObject({ calledDirectly: true, args: ['b'] })
    const r = await rulesRequest.delay('w')
    expect(await r.get()).toEqual({ id: r.id, task: 'rules.request', args: ['w'], calledDirectly: false, isEager: false, retries: 0 })
    const viaWorker = await (await rulesRequestBase.delay('v')).get()
    expect(viaWorker).toMatchObject({ before: { calledDirectly: false, args: ['v'] }, inner: { calledDirectly: false } })
  })

  // celery/app/task.py `Task.retry`: "if request.called_directly: raise_with_context(exc or
  // Retry('Task can be retried', None))": there is no message to send again.
  it('self.retry() in a direct call throws exc (or the Retry) at once', async () => {
    h = await setup(combo)
    const { rulesRetry } = h.tasks
    expect(() => rulesRetry.call('direct')).toThrow('direct')
    expect(() => rulesRetry.call(null)).toThrow(Retry)
  })

  // celery/result.py `AsyncResult.forget`: "Forget the result of this task and its parents"
  // (t/unit/tasks/test_result.py test_forget); `ResultSet.forget` forgets every member
  // (test_forget of test_ResultSet / GroupResult).
  it("forget() on a chain's result forgets every step; on a group's, every member; on a chord's, the body and header", async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    const steps = await chain(add.s(1, 1), add.s(2), add.s(3)).delay()
    await steps.get()
    const chainIds = [steps.id, steps.parent!.id, steps.parent!.parent!.id]
    await steps.forget()
    for (const id of chainIds) expect(await h.app.AsyncResult(id).state()).toBe(states.PENDING)

    const members = await group([add.s(1, 1), add.s(2, 2)]).delay()
    await members.get()
    await members.forget()
    for (const member of members.results) expect(await member.state()).toBe(states.PENDING)

    const joined = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()
    await joined.get()
    const header = joined.parent as unknown as GroupResult
    await joined.forget()
    expect(await joined.state()).toBe(states.PENDING)
    for (const member of header.results) expect(await member.state()).toBe(states.PENDING)
  })

  // Celery 5 `AsyncResult.get`: "If the task is configured with ignore_result=True, None is
  // returned without waiting" (celery/result.py `if self.ignored: return`); `send_task` sets
  // `result.ignored = ignore_result` (celery/app/base.py; t/unit/tasks/test_result.py
  // test_get_when_ignored).
  it('get() on a task that ignores its result resolves to undefined at once', async () => {
    h = await setup(combo)
    const { rulesIgnored, coreAdd } = h.tasks
    const r = await rulesIgnored.delay(5)
    expect(r.ignored).toBe(true)
    expect(await Promise.race([r.get({ timeout: 1_000 }), stillWaiting()])).toBeUndefined()
    await h.clock.runAll()
    expect(h.lines()).toContain('ignored ran 5')
    expect(await r.state()).toBe(states.PENDING)
    // Sent by name, with a taskId, or ignoring through the send option: the handle knows too.
    const byName = (await h.app.sendTask('rules.ignored', [6])) as AsyncResult<number>
    const byId = await rulesIgnored.applyAsync([7], { taskId: 'ignored-7' })
    const byOption = await coreAdd.applyAsync([1, 2], { ignoreResult: true })
    for (const handle of [byName, byId, byOption]) {
      expect(handle.ignored).toBe(true)
      expect(await Promise.race([handle.get(), stillWaiting()])).toBeUndefined()
    }
    // The task's own handle of an id knows its option; the app's handle of a bare id cannot.
    expect(rulesIgnored.AsyncResult(r.id).ignored).toBe(true)
    expect(await Promise.race([rulesIgnored.AsyncResult(r.id).get(), stillWaiting()])).toBeUndefined()
    expect(h.app.AsyncResult(r.id).ignored).toBe(false)
    expect(coreAdd.AsyncResult(byOption.id).ignored).toBe(false)
    await h.clock.runAll()
  })
})
