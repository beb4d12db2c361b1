/**
 * Tasks of the core scenarios (sending, results, scheduling, serialization, errors). Loaded in
 * the main thread and in every worker, so everything they report goes through results or logs.
 */
import { Task, registerErrorClass, signature } from '../../src/index.js'
import type { Celeriac } from '../../src/index.js'

/** A user error class with a code and its own data: it must arrive from `get()` as itself. */
export class PaymentDeclined extends Error {
  override name = 'PaymentDeclined'
  constructor(
    message: string,
    readonly code: string,
    readonly amount: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
registerErrorClass(PaymentDeclined)

/** A base class whose `call` wraps the task function, as Celery's `__call__` override does. */
class DoublingTask extends Task {
  override async call(...args: unknown[]): Promise<unknown> {
    const inner = await super.call(...args)
    return (inner as number) * 2
  }
}

export function defineCoreTasks(app: Celeriac) {
  return {
    coreEcho: app.task('core.echo', (value: unknown) => value),
    coreAdd: app.task('core.add', (a: number, b: number) => a + b),
    /** Logs its label when it runs; returns it. */
    coreMark: app.task('core.mark', { bind: true }, (self: Task, label: string) => {
      self.log.info(label)
      return label
    }),
    /** Logs `start x`, waits `ms` on the clock, logs `end x`. */
    coreSlow: app.task('core.slow', { bind: true }, async (self: Task, label: string, ms: number) => {
      self.log.info(`start ${label}`)
      await self.sleep(ms)
      self.log.info(`end ${label}`)
      return label
    }),
    /** Returns the fields of its request that a scenario checks. */
    coreRequest: app.task('core.request', { bind: true }, (self: Task, _marker: string) => {
      const r = self.request
      return {
        id: r.id,
        task: r.task,
        args: r.args,
        retries: r.retries,
        isEager: r.isEager,
        calledDirectly: r.calledDirectly,
        queue: r.deliveryInfo.queue,
        priority: r.deliveryInfo.priority,
        headers: r.headers,
        eta: r.eta,
        expires: r.expires,
        hostname: r.hostname,
        parentId: r.parentId,
        rootId: r.rootId,
      }
    }),
    coreDecline: app.task('core.decline', (amount: number) => {
      throw new PaymentDeclined(`card declined for ${amount}`, 'E_DECLINED', amount, { cause: new RangeError('limit reached') })
    }),
    coreTypeError: app.task('core.typeError', (value: unknown) => {
      return (value as { missing: () => number }).missing()
    }),
    coreDoubled: app.task('core.doubled', { base: DoublingTask }, (n: number) => n + 1),
    /** Sends a child through `self.send`, so the child is recorded under this task. */
    coreParent: app.task('core.parent', { bind: true }, async (self: Task, n: number) => {
      const child = await self.send(signature<number>('core.add', { args: [n, n] }))
      return child.id
    }),
    /** Returns a value the serializer refuses: the task must fail, not the engine. */
    coreBadResult: app.task('core.badResult', () => ({ ok: true, render: () => 'html' })),
    /** Its queue comes from its task option (`queue: 'reports'`); returns the queue it was delivered on. */
    coreRouted: app.task('core.routed', { bind: true, queue: 'reports' }, (self: Task) => self.request.deliveryInfo.queue),
    /** Matched by a glob route (`'reports.*'`); returns the queue it was delivered on. */
    coreDailyReport: app.task('reports.daily', { bind: true }, (self: Task) => self.request.deliveryInfo.queue),
  }
}
