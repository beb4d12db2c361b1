/** Signatures, chain, group, chord and their nesting, with Celery's semantics. */
import { afterEach, expect, it } from 'vitest'
import { Celeriac, ChordError, GroupResult, NotRegistered, Signature, chain, chord, group, signature, states } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { sharedDouble } from './tasks-canvas.js'
import { InventoryError } from './tasks-workflows.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('workflows', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('a chain of three adds gives 16, and each handle links to the step before', async () => {
    h = await setup(combo)
    const { add } = h.tasks
    const r = await chain(add.s(2, 2), add.s(4), add.s(8)).delay()
    expect(await r.get()).toBe(16)
    expect(r.parent).toBeDefined()
    expect(await r.parent!.get()).toBe(8)
    expect(await r.parent!.parent!.get()).toBe(4)
    expect(r.parent!.parent!.parent).toBeUndefined()
  })

  it('pipe builds the same chain; si ignores the parent result', async () => {
    h = await setup(combo)
    const { add, mul, seen } = h.tasks
    expect(await (await add.s(1, 2).pipe(mul.s(10)).delay()).get()).toBe(30)
    const r = await chain(add.s(1, 1), seen.si('immutable')).delay()
    expect(await r.get()).toBe('immutable')
  })

  it('signatures: partial args are prepended to by the parent, set/clone keep the original, JSON round-trips', async () => {
    h = await setup(combo)
    const { add } = h.tasks
    const partial = add.s(5)
    expect(await (await partial.delay(10)).get()).toBe(15)
    const routed = partial.set({ priority: 9, headers: { tag: 'x' } })
    expect(routed).not.toBe(partial)
    expect(partial.options.priority).toBeUndefined()
    expect(routed.options.priority).toBe(9)
    const cloned = add.s(1, 2).clone({ args: [3, 4] })
    expect(await (await cloned.delay()).get()).toBe(7)
    const json = JSON.parse(JSON.stringify(chain(add.s(1, 1), add.s(2)))) as ReturnType<Signature['toJSON']>
    const revived = Signature.fromJSON(json)
    expect(await ((await revived.delay()) as { get(): Promise<unknown> }).get()).toBe(4)
    const byName = signature<number>('wf.add', { args: [20, 22] })
    expect(await (await byName.delay()).get()).toBe(42)
    expect(await (await byName.applyAsync([], { countdown: 0 })).get()).toBe(42)
  })

  it('a failing step stops the chain: later steps never run, errbacks run once with the failed id', async () => {
    h = await setup(combo)
    const { add, failStep, seen, errback } = h.tasks
    const r = await chain(add.s(1, 1), failStep.s('sold out').linkError(errback.s('E1')), seen.s('never')).delay()
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    expect(h.lines().filter((l) => l.startsWith('ran'))).toEqual([])
    const failedId = r.parent!.id
    expect(h.lines().filter((l) => l.startsWith('errback'))).toEqual([`errback E1 ${failedId}`])
    expect(await r.parent!.state()).toBe(states.FAILURE)
    // The step that never ran reports the failure too (Celery marks the chain's remaining steps).
    expect(await r.state()).toBe(states.FAILURE)
  })

  it('link runs a callback with the result; linkError on a task that succeeds never runs', async () => {
    h = await setup(combo)
    const { add, seen, errback } = h.tasks
    const r = await add.s(2, 3).link(seen.si('linked')).linkError(errback.s('never')).delay()
    expect(await r.get()).toBe(5)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['ran linked'])
  })

  it('a group returns results in signature order, whatever order they finish in', async () => {
    h = await setup(combo)
    const { after } = h.tasks
    const g = await group([after.s(1, 300), after.s(2, 200), after.s(3, 100)]).delay()
    expect(g).toBeInstanceOf(GroupResult)
    await h.clock.runAll()
    expect(await g.get()).toEqual([1, 2, 3])
    // The first sent finished last (on two workers, 3 waits for a free one and ties with 1).
    expect(h.lines()).toHaveLength(3)
    expect(h.lines().at(-1) === 'done 1' || h.lines().at(-2) === 'done 1').toBe(true)
    expect(h.lines()[0]).not.toBe('done 1')
    expect(await g.ready()).toBe(true)
    expect(await g.completedCount()).toBe(3)
    expect(await g.successful()).toBe(true)
  })

  it('a chord sums its header: the body gets the results in header order', async () => {
    h = await setup(combo)
    const { add, sum, after } = h.tasks
    expect(await (await chord([add.s(1, 1), add.s(2, 2), add.s(3, 3)], sum.s()).delay()).get()).toBe(12)
    const r = await chord([after.s(1, 30), after.s(2, 20), after.s(3, 10)], h.tasks.where.s('body')).delay()
    await h.clock.runAll()
    expect((await r.get()).previous).toEqual([1, 2, 3])
  })

  it('a chord with a failing header member: get() rejects with ChordError naming it, the other members still run, the body never does', async () => {
    h = await setup(combo)
    const { failStep, seen } = h.tasks
    const r = await chord([seen.si('h0'), failStep.s(0, 'header broke'), seen.si('h2')], seen.si('body')).delay()
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChordError)
    const header = r.parent as unknown as GroupResult
    const failedId = header.results[1]!.id
    expect((error as ChordError).taskId).toBe(failedId)
    expect((error as ChordError).message).toContain(failedId)
    expect((error as ChordError).cause).toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    expect([...h.lines()].sort()).toEqual(['fail header broke', 'ran h0', 'ran h2'])
    expect(await Promise.all(header.results.map((m) => m.state()))).toEqual([states.SUCCESS, states.FAILURE, states.SUCCESS])
    expect(await header.results[2]!.get()).toBe('h2')
    expect(await r.state()).toBe(states.FAILURE)
  })

  it('an empty group gives []; a chord with an empty header runs its body with []', async () => {
    h = await setup(combo)
    const { count } = h.tasks
    expect(await (await group([]).delay()).get()).toEqual([])
    expect(await (await chord([], count.s()).delay()).get()).toBe(0)
  })

  it('Complex Workflows: a chain holding a chord, then a further step', async () => {
    h = await setup(combo)
    const { add, sum, mul } = h.tasks
    // fetch -> fan out -> aggregate -> post-process, as in the seed.
    const workflow = chain(add.s(1, 1), chord([add.s(10), add.s(20), add.s(30)], sum.s()), mul.s(2))
    const r = await workflow.delay()
    // (2+10) + (2+20) + (2+30) = 66, times 2.
    expect(await r.get()).toBe(132)
  })

  it('a chord whose header holds chains; a group followed by a task in a chain becomes a chord', async () => {
    h = await setup(combo)
    const { add, mul, sum } = h.tasks
    const r = await chord([chain(add.s(1, 1), mul.s(10)), chain(add.s(2, 2), mul.s(10))], sum.s()).delay()
    expect(await r.get()).toBe(60)
    const upgraded = await chain(group([add.s(1, 1), add.s(2, 2)]), sum.s()).delay()
    expect(await upgraded.get()).toBe(6)
  })

  it('a chord inside a chain inside a chord header: when the inner chord fails, so does the outer one (its body FAILURE with ChordError)', async () => {
    h = await setup(combo)
    const { failStep, seen } = h.tasks
    const inner = chord([failStep.si(null, 'inner'), seen.si('i1')], seen.si('inner-body').set({ taskId: 'nest-inner-body' }))
    const r = await chord([seen.si('h0'), chain(inner, seen.si('t').set({ taskId: 'nest-t' }))], seen.si('outer-body')).delay()
    await h.clock.runAll()
    await h.app.whenIdle()
    // The inner body fails with ChordError; the chain's last step with it; and the outer chord
    // counts that chain as failed, so its body is not left PENDING.
    for (const id of ['nest-inner-body', 'nest-t']) expect(await h.app.AsyncResult(id).state(), id).toBe(states.FAILURE)
    expect(await r.state()).toBe(states.FAILURE)
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChordError)
    expect((error as ChordError).taskId).toBe('nest-t')
    expect((error as ChordError).cause).toBeInstanceOf(ChordError)
    expect([...h.lines()].sort()).toEqual(['fail inner', 'ran h0', 'ran i1'])
  })

  it('request context: parentId and rootId along a chain, groupId and groupIndex in a group', async () => {
    h = await setup(combo)
    const { where } = h.tasks
    const r = await chain(where.s(null, 'first'), where.s('second'), where.s('third')).delay()
    const third = await r.get()
    const second = third.previous as { id: string; parentId: string; rootId: string; previous: { id: string; rootId: string } }
    const first = second.previous
    expect(first.rootId).toBe(first.id)
    expect(second.parentId).toBe(first.id)
    expect(second.rootId).toBe(first.id)
    expect(third.parentId).toBe(second.id)
    expect(third.rootId).toBe(first.id)
    const g = await group([where.s(null, 'a'), where.s(null, 'b')]).delay()
    const members = await g.get()
    expect(members.map((m) => m.groupIndex)).toEqual([0, 1])
    expect(members[0]!.groupId).toBe(g.id)
    expect(members[1]!.groupId).toBe(g.id)
  })

  it('headers given to applyAsync on a chain reach its third step (the correlation id pattern)', async () => {
    h = await setup(combo)
    const { where } = h.tasks
    const r = await chain(where.s(null, 'one'), where.s('two'), where.s('three')).applyAsync([], { headers: { correlationId: 'req-42' } })
    const third = await r.get()
    expect(third.label).toBe('three')
    expect(third.headers).toEqual({ correlationId: 'req-42' })
  })

  it('a chord inside a chain: header tasks and body share the chain root; header parents are the step before', async () => {
    h = await setup(combo)
    const { add, where } = h.tasks
    const r = await chain(add.s(1, 1), chord([where.s('h0'), where.s('h1')], where.s('body'))).delay()
    const body = await r.get()
    const header = r.parent as unknown as GroupResult
    const first = header.parent!
    const members = body.previous as Array<{ id: string; parentId: string | null; rootId: string; previous: unknown }>
    expect(members.map((m) => m.previous)).toEqual([2, 2])
    expect(members.map((m) => m.id)).toEqual(header.results.map((m) => m.id))
    expect(members.map((m) => m.rootId)).toEqual([first.id, first.id])
    expect(members.map((m) => m.parentId)).toEqual([first.id, first.id])
    expect(body.rootId).toBe(first.id)
    // The body's parent is the header task whose completion sent it: one of the two.
    expect(header.results.map((m) => m.id)).toContain(body.parentId)
  })

  it("a chord sent on its own: one rootId (the first header task) for all; the body's parent is the header task that finished last", async () => {
    h = await setup(combo)
    const { canvasWhereAfter, where } = h.tasks
    // On two workers, a and b start at once and c when a is done: b (0-50 ms) still ends last.
    const r = await chord([canvasWhereAfter.s(10, 'a'), canvasWhereAfter.s(50, 'b'), canvasWhereAfter.s(20, 'c')], where.s('body')).delay()
    await h.clock.runAll()
    const body = await r.get()
    const ids = (r.parent as unknown as GroupResult).results.map((m) => m.id)
    const members = body.previous as Array<{ label: string; id: string; parentId: string | null; rootId: string }>
    expect(members.map((m) => m.id)).toEqual(ids)
    expect(members.map((m) => m.rootId)).toEqual([ids[0], ids[0], ids[0]])
    expect(members.map((m) => m.parentId)).toEqual([null, null, null])
    expect(body.id).toBe(r.id)
    expect(body.rootId).toBe(ids[0])
    expect(body.parentId).toBe(ids[1])
  })

  it('headers given to a chain reach the header tasks and the body of a chord inside it', async () => {
    h = await setup(combo)
    const { where } = h.tasks
    const headers = { correlationId: 'req-7' }
    const r = await chain(where.s(null, 'first'), chord([where.s('h0'), where.s('h1')], where.s('body'))).applyAsync([], { headers })
    const body = await r.get()
    expect(body.headers).toEqual(headers)
    expect((body.previous as Array<{ headers: unknown }>).map((m) => m.headers)).toEqual([headers, headers])
  })

  it("a chain's linkError covers every step: a failure at step 3 of 4 runs it once, with the failed task's id", async () => {
    h = await setup(combo)
    const { add, failStep, seen, errback } = h.tasks
    const r = await chain(add.s(1, 1), add.s(1), failStep.s('step 3'), seen.s('never')).linkError(errback.s('chain')).delay()
    await expect(r.get()).rejects.toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    const failedId = r.parent!.id
    expect(h.lines()).toEqual(['fail step 3', `errback chain ${failedId}`])
    expect(await r.state()).toBe(states.FAILURE)
  })

  it("a chain's linkError given to applyAsync runs once for a failing first step, beside the step's own errback", async () => {
    h = await setup(combo)
    const { add, failStep, errback } = h.tasks
    const r = await chain(failStep.s(null, 'first').linkError(errback.s('own')), add.s(1)).applyAsync([], { linkError: errback.s('sent') })
    await expect(r.get()).rejects.toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    const failedId = r.parent!.id
    expect(
      h
        .lines()
        .filter((l) => l.startsWith('errback'))
        .sort(),
    ).toEqual([`errback own ${failedId}`, `errback sent ${failedId}`])
    // A chain that succeeds runs none.
    h.logs.length = 0
    expect(await (await chain(add.s(1, 1), add.s(1)).linkError(errback.s('never')).delay()).get()).toBe(3)
    await h.app.whenIdle()
    expect(h.lines()).toEqual([])
  })

  it("a chain's link runs once, after the last step, with the chain's result", async () => {
    h = await setup(combo)
    const { add, sum, failStep, canvasNote } = h.tasks
    const r = await chain(add.s(2, 2), add.s(4), add.s(8)).link(canvasNote.s('chain')).delay()
    expect(await r.get()).toBe(16)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['note chain 16'])
    h.logs.length = 0
    // The last step is a chord: the link follows its body.
    const withChord = await chain(add.s(1, 1), chord([add.s(1), add.s(2)], sum.s()))
      .link(canvasNote.s('chord'))
      .delay()
    expect(await withChord.get()).toBe(7)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['note chord 7'])
    h.logs.length = 0
    // A chain that fails never runs it.
    const failed = await chain(add.s(1, 1), failStep.s('x'), add.s(1)).link(canvasNote.s('never')).delay()
    await expect(failed.get()).rejects.toBeInstanceOf(InventoryError)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['fail x'])
  })

  it("a chord's linkError runs once, with the body's id, however many header tasks fail (Celery links it to the body)", async () => {
    h = await setup(combo)
    const { add, failStep, seen, errback } = h.tasks
    const r = await chord([add.s(1, 1), failStep.s(0, 'one'), failStep.s(0, 'two')], seen.si('body'))
      .linkError(errback.s('chord'))
      .delay()
    await expect(r.get()).rejects.toBeInstanceOf(ChordError)
    await h.app.whenIdle()
    expect(h.lines().filter((l) => !l.startsWith('fail'))).toEqual([`errback chord ${r.id}`])
    h.logs.length = 0
    // The body's own linkError does the same.
    const own = await chord([failStep.s(0, 'three'), add.s(1, 1)], seen.si('body').linkError(errback.s('body'))).delay()
    await expect(own.get()).rejects.toBeInstanceOf(ChordError)
    await h.app.whenIdle()
    expect(h.lines().filter((l) => !l.startsWith('fail'))).toEqual([`errback body ${own.id}`])
  })

  it("a chain's linkError runs once when a chord inside it fails: for the body, later steps never run", async () => {
    h = await setup(combo)
    const { add, sum, mul, failStep, errback } = h.tasks
    const r = await chain(add.s(1, 1), chord([add.s(1), failStep.s('boom')], sum.s()), mul.s(2))
      .linkError(errback.s('wf'))
      .delay()
    await expect(r.get()).rejects.toBeInstanceOf(ChordError)
    await h.app.whenIdle()
    const bodyId = r.parent!.id
    expect(h.lines()).toEqual(['fail boom', `errback wf ${bodyId}`])
  })

  it("a chord's link runs once after the body, with the body's result", async () => {
    h = await setup(combo)
    const { add, sum, canvasNote } = h.tasks
    const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s())
      .link(canvasNote.s('chord'))
      .delay()
    expect(await r.get()).toBe(6)
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['note chord 6'])
  })

  it('an acksLate chord header task delivered twice (rejected with requeue) counts once: the body runs once, results in order', async () => {
    h = await setup(combo)
    const { add, canvasTwice, canvasNote } = h.tasks
    const r = await chord([add.s(1, 1), canvasTwice.s(5), add.s(2, 2)], canvasNote.s('body')).delay()
    expect(await r.get()).toEqual([2, 5, 4])
    await h.app.whenIdle()
    expect(h.lines()).toEqual(['twice 5 first', 'twice 5 redelivered', 'note body [2,5,4]'])
  })

  it('group() and chord() take any iterable of signatures, a generator included', async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    function* doubles() {
      for (const i of [1, 2, 3]) yield add.s(i, i)
    }
    expect(await (await group(doubles()).delay()).get()).toEqual([2, 4, 6])
    expect(await (await chord(doubles(), sum.s()).delay()).get()).toBe(12)
  })

  it('app.send sends any signature through that app, with send options', async () => {
    h = await setup(combo)
    const { add, mul } = h.tasks
    expect(await (await h.app.send(add.s(2, 3))).get()).toBe(5)
    expect(await (await h.app.send(chain(add.s(1, 1), mul.s(5)))).get()).toBe(10)
    const g = await h.app.send(group([add.s(1, 1), add.s(2, 2)]))
    expect(g).toBeInstanceOf(GroupResult)
    expect(await g.get()).toEqual([2, 4])
    const later = await h.app.send(signature<number>('wf.add', { args: [1, 2] }), { countdown: 1_000 })
    expect(await later.state()).toBe(states.PENDING)
    await h.clock.advance(1_000)
    expect(await later.get()).toBe(3)
  })

  it('sharedTask: every app can run it; it is sent through the app that started last, a signature by name too', async () => {
    h = await setup(combo)
    const { add } = h.tasks
    expect(h.app.registered()).toContain('canvas.sharedDouble')
    expect(await (await sharedDouble.delay(21)).get()).toBe(42)
    expect(await (await chain(add.s(1, 2), sharedDouble.s()).delay()).get()).toBe(6)
    const other = new Celeriac({ name: 'other', clock: virtualClock() })
    await other.start()
    try {
      const r = await sharedDouble.delay(4)
      expect(await other.AsyncResult(r.id).get()).toBe(8)
      expect(await h.app.AsyncResult(r.id).state()).toBe(states.PENDING)
      // 'wf.add' is not registered on the app that started last; app.send picks the app.
      await expect(signature('wf.add', { args: [1, 1] }).delay()).rejects.toBeInstanceOf(NotRegistered)
      expect(await (await h.app.send(signature<number>('wf.add', { args: [1, 1] }))).get()).toBe(2)
    } finally {
      await other.stop()
    }
  })

  it('a chord and a chain sent from inside a task (self.send) run, and their handles know every id', async () => {
    h = await setup(combo)
    const sent = await (await h.tasks.canvasSendsCanvas.delay(3)).get()
    const ids = [sent.chord, ...sent.header, sent.chain, sent.chainFirst]
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect(await Promise.all(sent.header.map((id) => h.app.AsyncResult(id).get()))).toEqual([4, 5])
    expect(await h.app.AsyncResult(sent.chord).get()).toBe(9)
    expect(await h.app.AsyncResult(sent.chainFirst).get()).toBe(6)
    expect(await h.app.AsyncResult(sent.chain).get()).toBe(60)
  })

  it("partial args go to a chain's first step, to every member of a group, to every header task of a chord", async () => {
    h = await setup(combo)
    const { add, sum } = h.tasks
    expect(await (await chain(add.s(1), add.s(2)).delay(5)).get()).toBe(8)
    expect(await (await chain(add.s(1), add.s(2)).applyAsync([10])).get()).toBe(13)
    expect(await (await group([add.s(1), add.s(2)]).delay(5)).get()).toEqual([6, 7])
    expect(await (await chord([add.s(1), add.s(2)], sum.s()).delay(5)).get()).toBe(13)
    expect(await (await h.app.send(chain(add.s(1), add.s(2)).clone({ args: [100] }))).get()).toBe(103)
  })

  it("a chord's send options reach its header tasks: a countdown delays the whole chord, a queue routes the header", async () => {
    h = await setup(combo, { queues: { default: {}, math: {} } })
    const { add, sum, count, coreRequest } = h.tasks
    const later = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).applyAsync([], { countdown: 1_000 })
    await h.clock.advance(999)
    const header = later.parent as unknown as GroupResult
    expect(await Promise.all(header.results.map((m) => m.state()))).toEqual([states.PENDING, states.PENDING])
    await h.clock.advance(1)
    expect(await later.get()).toBe(6)
    const routed = await chord([coreRequest.s('h0'), coreRequest.s('h1').set({ queue: 'default' })], count.s()).applyAsync([], { queue: 'math' })
    expect(await routed.get()).toBe(2)
    const members = await (routed.parent as unknown as GroupResult<Array<{ queue: string }>>).get()
    expect(members.map((m) => m.queue)).toEqual(['math', 'default'])
  })

  it('chunks(items, n) is a group of tasks over slices, in order', async () => {
    h = await setup(combo)
    const { chunkSum } = h.tasks
    const ids = Array.from({ length: 10 }, (_, i) => i + 1)
    const g = await chunkSum.chunks(ids, 4).delay()
    expect(await g.get()).toEqual([1 + 2 + 3 + 4, 5 + 6 + 7 + 8, 9 + 10])
  })
})
