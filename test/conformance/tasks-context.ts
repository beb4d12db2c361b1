/**
 * Tasks of the task-context scenarios: a plain `other.delay()`, `sig.delay()`, `app.send(...)`
 * made inside a running task, after awaits and in nested functions, is the task's child.
 */
import { chain, group, signature } from '../../src/index.js'
import type { AsyncResult, Celeriac, Task } from '../../src/index.js'

/** Where a task sits: its request's workflow fields. */
export interface Place {
  label: string
  id: string
  parentId: string | null
  rootId: string | null
  headers: Record<string, unknown>
}

export function defineContextTasks(app: Celeriac) {
  const where = app.task('ctx.where', { bind: true }, (self: Task, label: string): Place => {
    const r = self.request
    return { label, id: r.id, parentId: r.parentId, rootId: r.rootId, headers: r.headers }
  })
  /** A helper a task calls: sends from a nested async function, with no `self` in sight. */
  async function sendFromHelper(label: string): Promise<AsyncResult<Place>> {
    await Promise.resolve()
    return where.applyAsync([label], { headers: { step: label } })
  }
  return {
    ctxWhere: where,
    /** Not bound: `where.delay()` after awaits; returns the child's id. */
    ctxPlainAfterAwait: app.task('ctx.plainAfterAwait', async (label: string) => {
      await Promise.resolve()
      await new Promise<void>((resolve) => queueMicrotask(resolve))
      const child = await where.delay(label)
      return child.id
    }),
    /** Every send form but `self`, from nested functions; returns the ids it got, in order. */
    ctxEveryForm: app.task('ctx.everyForm', { bind: true }, async (_self: Task) => {
      const ids: string[] = []
      ids.push((await sendFromHelper('applyAsync')).id)
      ids.push((await where.s('signature').delay()).id)
      ids.push((await app.send(where.s('app.send'))).id)
      ids.push((await app.sendTask('ctx.where', ['sendTask'])).id)
      ids.push((await signature('ctx.where', { args: ['by name'] }).delay()).id)
      const inChain = await chain(where.si('chain 1'), where.si('chain 2')).delay()
      ids.push(inChain.parent!.id, inChain.id)
      const inGroup = await group([where.s('group 1'), where.s('group 2')]).delay()
      ids.push(...inGroup.results.map((r) => r.id))
      return ids
    }),
    /** Sends `rounds` children without `self`, sleeping between them so that runs interleave. */
    ctxInterleaved: app.task('ctx.interleaved', { bind: true }, async (self: Task, label: string, rounds: number) => {
      const ids: string[] = []
      for (let i = 0; i < rounds; i++) {
        await self.sleep(10)
        ids.push((await where.delay(`${label} ${String(i)}`)).id)
      }
      return ids
    }),
    /** Sends one task id twice (the second send dedupes): returns the id. */
    ctxSendTwice: app.task('ctx.sendTwice', async (id: string) => {
      await where.applyAsync(['once'], { taskId: id })
      await where.applyAsync(['once'], { taskId: id })
      return id
    }),
    /** Sends without awaiting the send, and returns at once. */
    ctxFireAndForget: app.task('ctx.fireAndForget', (label: string) => {
      void where.delay(label)
      return 'sent'
    }),
    /** Runs `where` eagerly (apply) and sends one: neither makes the eager call a parent. */
    ctxEagerInside: app.task('ctx.eagerInside', async () => {
      const eager = await where.apply(['eager'])
      const sent = await where.delay('sent')
      return { eager: (await eager.get()) as Place, sent: sent.id }
    }),
  }
}
