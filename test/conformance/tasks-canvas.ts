import { Reject, chain, chord, sharedTask, signature } from '../../src/index.js'
import type { Celeriac, GroupResult, Task } from '../../src/index.js'

/**
 * A shared task (Celery's `shared_task`): registered once per realm when this module loads, in
 * the main thread and in every worker, and sent through the app that started last.
 */
export const sharedDouble = sharedTask('canvas.sharedDouble', (n: number) => n * 2)

/** Tasks of the canvas scenarios. */
export function defineCanvasTasks(app: Celeriac) {
  return {
    canvasEcho: app.task('canvas.echo', (value: unknown) => value),
    /** Logs `note <tag> <value as JSON>`: a callback that accepts any result. */
    canvasNote: app.task('canvas.note', { bind: true }, (self: Task, value: unknown, tag: string) => {
      self.log.info(`note ${tag} ${JSON.stringify(value)}`)
      return value
    }),
    /** Sleeps `ms`, then returns its place in the workflow: finishing order is set by `ms`. */
    canvasWhereAfter: app.task('canvas.whereAfter', { bind: true }, async (self: Task, ms: number, label: string) => {
      await self.sleep(ms)
      const r = self.request
      return { label, id: r.id, parentId: r.parentId, rootId: r.rootId, headers: r.headers }
    }),
    /** Sends a chord and a chain as its children (`self.send`); returns the ids of their handles. */
    canvasSendsCanvas: app.task('canvas.sendsCanvas', { bind: true }, async (self: Task, n: number) => {
      const add = (...args: number[]) => signature<number>('wf.add', { args })
      const c = await self.send(chord([add(n, 1), add(n, 2)], signature<number>('wf.sum')))
      const ch = await self.send(chain(add(n, n), signature<number>('wf.mul', { args: [10] })))
      return {
        chord: c.id,
        header: (c.parent as unknown as GroupResult).results.map((m) => m.id),
        chain: ch.id,
        chainFirst: ch.parent!.id,
      }
    }),
    /** acksLate; rejects with requeue on its first delivery, so it is delivered twice. */
    canvasTwice: app.task('canvas.twice', { bind: true, acksLate: true }, (self: Task, value: number) => {
      const redelivered = self.request.deliveryInfo.redelivered
      self.log.info(`twice ${value} ${redelivered ? 'redelivered' : 'first'}`)
      if (!redelivered) throw new Reject('not yet', true)
      return value
    }),
    /** Retries once at the absolute time `at` (epoch ms), via `self.retry({ eta })`. */
    canvasRetryAt: app.task('canvas.retryAt', { bind: true }, (self: Task, at: number, asDate: boolean) => {
      if (self.request.retries === 0) throw self.retry({ eta: asDate ? new Date(at) : at })
      return self.request.retries
    }),
    /** maxRetries 0 as a task option, overridden per call by `self.retry({ maxRetries })`. */
    canvasRetryCap: app.task('canvas.retryCap', { bind: true, maxRetries: 0 }, (self: Task, cap: number | null) => {
      self.log.info(`cap try ${self.request.retries}`)
      if (self.request.retries >= 4) return 'done'
      throw self.retry({ countdown: 100, maxRetries: cap })
    }),
  }
}
