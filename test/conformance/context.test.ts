/**
 * Context follows the code, not the call style: a send made anywhere inside a running task (a
 * plain `other.delay()`, `applyAsync`, a signature's or canvas's `.delay()`, `app.send`,
 * `app.sendTask`; after awaits, in nested functions) records the task as its parent, as Celery
 * does: `Task.apply_async` and `Celery.send_task` take `parent_id`/`root_id` from
 * `current_worker_task` and add the result to the parent's children (celery/app/task.py,
 * celery/app/base.py `send_task`; t/unit/tasks/test_tasks.py `test_apply_async_adds_children`).
 *
 * That needs an async context (AsyncLocalStorage in Node). A browser has none: there, these
 * sends are new roots, and only the bound `self` (`self.send`, `self.delay`) makes children
 * (results.test.ts, "children lists the tasks a task sent through self.send").
 */
import { afterEach, expect, it } from 'vitest'
import { chain, group, signature } from '../../src/index.js'
import type { GroupResult } from '../../src/index.js'
import type { Place } from './tasks-context.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('task context', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())
  const tracked = combo.asyncContext

  async function place(id: string): Promise<Place> {
    return (await h.app.AsyncResult<Place>(id).get()) as Place
  }

  /** Where a send made by `parentId`'s code, without `self`, puts the task `child`. */
  function expectChildOf(child: Place, parentId: string): void {
    if (tracked) expect(child, child.label).toMatchObject({ parentId, rootId: parentId })
    else expect(child, child.label).toMatchObject({ parentId: null, rootId: child.id })
  }

  it('a plain other.delay() after awaits is the task’s child: parentId, rootId, children()', async () => {
    h = await setup(combo)
    const parent = await h.tasks.ctxPlainAfterAwait.delay('after await')
    await h.clock.runAll()
    const childId = await parent.get()
    expectChildOf(await place(childId), parent.id)
    expect((await parent.children()).map((c) => c.id)).toEqual(tracked ? [childId] : [])
  })

  it('every send form inside a task, from nested functions, makes a child; the parent’s headers are inherited under the child’s own', async () => {
    h = await setup(combo)
    const parent = await h.tasks.ctxEveryForm.applyAsync([], { headers: { tenant: 'acme' } })
    await h.clock.runAll()
    const ids = await parent.get()
    const places = await Promise.all(ids.map(place))
    expect(places.map((p) => p.label)).toEqual(['applyAsync', 'signature', 'app.send', 'sendTask', 'by name', 'chain 1', 'chain 2', 'group 1', 'group 2'])
    for (const p of places.filter((q) => q.label !== 'chain 2')) expectChildOf(p, parent.id)
    // A chain's later step is the child of the step before it, in its root, as in Celery.
    expect(places[6]).toMatchObject({ parentId: places[5]!.id, rootId: places[5]!.rootId })
    for (const p of places) expect(p.headers.tenant, p.label).toBe(tracked ? 'acme' : undefined)
    expect(places[0]!.headers.step).toBe('applyAsync')
    // A chain is its last step's result (Celery's add_trail of the chain's AsyncResult).
    const children = (await parent.children()).map((c) => c.id)
    expect(children).toEqual(tracked ? ids.filter((_, i) => i !== 5) : [])
  })

  it('a send the task does not await is still its child', async () => {
    h = await setup(combo)
    const parent = await h.tasks.ctxFireAndForget.delay('unawaited')
    await h.clock.runAll()
    expect(await parent.get()).toBe('sent')
    const children = await parent.children()
    expect(children).toHaveLength(tracked ? 1 : 0)
    if (tracked) expectChildOf(await place(children[0]!.id), parent.id)
  })

  it('apply() inside a task runs eagerly with no parent; a send after it is the outer task’s child (Celery’s current_worker_task skips eager calls)', async () => {
    h = await setup(combo)
    const parent = await h.tasks.ctxEagerInside.delay()
    await h.clock.runAll()
    const { eager, sent } = await parent.get()
    expect(eager).toMatchObject({ label: 'eager', parentId: null })
    expectChildOf(await place(sent), parent.id)
  })

  it('tasks running at once, awaiting in turn, each send their own children', async () => {
    h = await setup(combo)
    const parents = await Promise.all(['a', 'b', 'c'].map((label) => h.tasks.ctxInterleaved.delay(label, 3)))
    await h.clock.runAll()
    for (const parent of parents) {
      const places = await Promise.all((await parent.get()).map(place))
      for (const p of places) expectChildOf(p, parent.id)
      expect((await parent.children()).map((c) => c.id)).toEqual(tracked ? places.map((p) => p.id) : [])
    }
  })

  it('a send made by an event listener is not a child of the task whose work emitted the event', async () => {
    h = await setup(combo)
    const fromListener: Promise<string>[] = []
    let sent = false
    h.app.events.on('task-sent', (event) => {
      if (event.name !== 'ctx.where' || sent) return
      sent = true
      fromListener.push(h.tasks.ctxWhere.delay('from a listener').then((r) => r.id))
    })
    const parent = await h.tasks.ctxPlainAfterAwait.delay('child')
    await h.clock.runAll()
    const childId = await parent.get()
    expect(fromListener).toHaveLength(1)
    const listenerChild = await place(await fromListener[0]!)
    expect(listenerChild).toMatchObject({ label: 'from a listener', parentId: null, rootId: listenerChild.id })
    expect((await parent.children()).map((c) => c.id)).toEqual(tracked ? [childId] : [])
  })

  it('the same task id sent twice from a task is one child (the second send dedupes)', async () => {
    h = await setup(combo)
    const parent = await h.tasks.ctxSendTwice.delay('the-only-child')
    await h.clock.runAll()
    expect(await parent.get()).toBe('the-only-child')
    expect((await parent.children()).map((c) => c.id)).toEqual(tracked ? ['the-only-child'] : [])
  })

  it('a group’s headers reach its members under their own, key by key, when it is flattened or becomes a chord header', async () => {
    h = await setup(combo)
    const { ctxWhere } = h.tasks
    const members = () => [ctxWhere.s('own').set({ headers: { k: 1 } }), ctxWhere.s('plain')]
    const upgraded = await chain(group(members()).set({ headers: { tenant: 't' } }), signature<Place>('ctx.where')).delay()
    const flattened = await group([group(members()).set({ headers: { tenant: 't' } })]).delay()
    await h.clock.runAll()
    for (const header of [upgraded.parent as unknown as GroupResult<Place[]>, flattened as unknown as GroupResult<Place[]>]) {
      const [own, plain] = await header.get()
      expect(own!.headers).toEqual({ tenant: 't', k: 1 })
      expect(plain!.headers).toEqual({ tenant: 't' })
    }
  })

  it('a send from outside any task is a new root', async () => {
    h = await setup(combo)
    const r = await h.tasks.ctxWhere.delay('outside')
    await h.clock.runAll()
    expect(await r.get()).toMatchObject({ parentId: null, rootId: r.id })
  })
})
