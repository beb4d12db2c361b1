/** Tasks of the canvas, retry and task-class scenarios. Names start with `wf.`. */
import { Task, registerErrorClass } from '../../src/index.js'
import type { Celeriac } from '../../src/index.js'

export class InventoryError extends Error {
  override name = 'InventoryError'
}
export class FlakyNetwork extends Error {
  override name = 'FlakyNetwork'
}
export class BadInput extends Error {
  override name = 'BadInput'
}
registerErrorClass(InventoryError)
registerErrorClass(FlakyNetwork)
registerErrorClass(BadInput)

/** A base class logging every hook, in the order the tracer calls them (Celery's order). */
export class AuditedTask extends Task {
  /** A class field as an option default. */
  override maxRetries = 1
  override defaultRetryDelay = 500

  override beforeStart(): void {
    this.log.info('beforeStart')
  }
  override async call(...args: unknown[]): Promise<unknown> {
    this.log.info('call:enter')
    try {
      return await super.call(...args)
    } finally {
      this.log.info('call:exit')
    }
  }
  override onSuccess(retval: unknown): void {
    this.log.info(`onSuccess ${JSON.stringify(retval)}`)
  }
  override onFailure(exc: unknown): void {
    this.log.info(`onFailure ${(exc as Error).name}`)
  }
  override onRetry(exc: unknown): void {
    this.log.info(`onRetry ${(exc as Error).name}`)
  }
  override afterReturn(state: string): void {
    this.log.info(`afterReturn ${state}`)
  }
}

/** Logs each `onRetry` call: the error's name, the task id, the args, the retries so far. */
export class RetryLoggedTask extends Task {
  override onRetry(exc: unknown, taskId: string, args: unknown[]): void {
    this.log.info(`onRetry ${(exc as Error).name} ${taskId} ${JSON.stringify(args)} ${String(this.request.retries)}`)
  }
}

/** The seed's NotificationTaskMixin: a function that adds behaviour to any base class. */
// biome-ignore lint/suspicious/noExplicitAny: TypeScript's mixin rule wants `any[]` constructor arguments here (TS2545).
function withNotification<B extends new (...args: any[]) => Task>(Base: B): B {
  return class extends Base {
    override onSuccess(retval: unknown): void {
      this.log.info(`notify success ${JSON.stringify(retval)}`)
    }
  }
}

export function defineWorkflowTasks(app: Celeriac) {
  const add = app.task('wf.add', (a: number, b: number) => a + b)
  const mul = app.task('wf.mul', (a: number, b: number) => a * b)
  const sum = app.task('wf.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))
  const upper = app.task('wf.upper', (text: string) => text.toUpperCase())
  const count = app.task('wf.count', (values: unknown[]) => values.length)
  const seen = app.task('wf.seen', { bind: true }, (self: Task, label: string) => {
    self.log.info(`ran ${label}`)
    return label
  })
  const failStep = app.task('wf.fail', { bind: true }, (self: Task, _input: unknown, message: string) => {
    self.log.info(`fail ${message}`)
    throw new InventoryError(message)
  })
  const errback = app.task('wf.errback', { bind: true }, (self: Task, failedId: string, tag: string) => {
    self.log.info(`errback ${tag} ${failedId}`)
    return failedId
  })
  /** Sleeps `ms`, logs when it ends, returns `value`: finishing order differs from send order. */
  const after = app.task('wf.after', { bind: true }, async (self: Task, value: number, ms: number) => {
    await self.sleep(ms)
    self.log.info(`done ${value}`)
    return value
  })
  /** What a step of a workflow sees of its place: returns it and the value it was given. */
  const where = app.task('wf.where', { bind: true }, (self: Task, previous: unknown, label: string) => {
    const r = self.request
    return {
      label,
      previous: previous ?? null,
      id: r.id,
      parentId: r.parentId,
      rootId: r.rootId,
      groupId: r.groupId,
      groupIndex: r.groupIndex,
      headers: r.headers,
    }
  })
  /** Fails with FlakyNetwork until its retries reach `succeedAt`; retryBackoff doubles from 1 s. */
  const backoff = app.task(
    'wf.backoff',
    { base: RetryLoggedTask, bind: true, autoretryFor: [FlakyNetwork], retryBackoff: true, retryBackoffMax: 5_000, retryJitter: false, maxRetries: 5 },
    (self: RetryLoggedTask, succeedAt: number) => {
      if (self.request.retries < succeedAt) throw new FlakyNetwork(`attempt ${self.request.retries}`)
      return `ok after ${self.request.retries}`
    },
  )
  const jittered = app.task(
    'wf.jittered',
    { bind: true, autoretryFor: [FlakyNetwork], retryBackoff: 1_000, retryJitter: true, maxRetries: 3 },
    (self: Task) => {
      if (self.request.retries < 3) throw new FlakyNetwork('again')
      return 'ok'
    },
  )
  /** autoretryFor FlakyNetwork, but never for BadInput (dontAutoretryFor wins). */
  const picky = app.task(
    'wf.picky',
    { bind: true, autoretryFor: (e: unknown) => e instanceof Error, dontAutoretryFor: [BadInput], defaultRetryDelay: 100, maxRetries: 2 },
    (self: Task, kind: 'flaky' | 'bad') => {
      self.log.info(`picky ${kind} try ${self.request.retries}`)
      throw kind === 'flaky' ? new FlakyNetwork('net') : new BadInput('bad')
    },
  )
  /** Explicit self.retry with exc and countdown; gives up past maxRetries with the original error. */
  const explicit = app.task('wf.explicit', { bind: true, maxRetries: 2 }, (self: Task, withExc: boolean) => {
    self.log.info(`explicit try ${self.request.retries}`)
    throw self.retry(withExc ? { exc: new InventoryError('out of stock'), countdown: 250 } : { countdown: 250 })
  })
  /** Retries forever (maxRetries: null) until the 20th retry. */
  const patient = app.task('wf.patient', { bind: true, maxRetries: null, defaultRetryDelay: 10 }, (self: Task) => {
    if (self.request.retries < 20) throw self.retry()
    return self.request.retries
  })
  /** Retries once with the default delay; used inside a chain. */
  const onceFlaky = app.task('wf.onceFlaky', { bind: true, defaultRetryDelay: 1_000 }, (self: Task, value: number) => {
    if (self.request.retries === 0) throw self.retry()
    return value * 10
  })
  const audited = app.task('wf.audited', { base: AuditedTask, bind: true }, (self: AuditedTask, mode: 'ok' | 'fail' | 'retry') => {
    self.log.info(`body ${mode} try ${self.request.retries}`)
    if (mode === 'fail') throw new InventoryError('none left')
    if (mode === 'retry' && self.request.retries === 0) throw self.retry()
    return mode
  })
  const auditedOptions = app.task('wf.auditedOptions', { base: AuditedTask, bind: true }, (self: AuditedTask) => ({
    maxRetries: self.maxRetries,
    defaultRetryDelay: self.defaultRetryDelay,
  }))
  const notified = app.task('wf.notified', { base: withNotification(Task), bind: true }, (_self: Task, n: number) => n * 3)
  const chunkSum = app.task('wf.chunkSum', (ids: number[]) => ids.reduce((a, b) => a + b, 0))
  return {
    add,
    mul,
    sum,
    upper,
    count,
    seen,
    failStep,
    errback,
    after,
    where,
    backoff,
    jittered,
    picky,
    explicit,
    patient,
    onceFlaky,
    audited,
    auditedOptions,
    notified,
    chunkSum,
  }
}
