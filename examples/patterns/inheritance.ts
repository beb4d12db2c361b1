/**
 * Seed: "Task Inheritance" — base task classes (a `call` wrapper, logging hooks) and the
 * NotificationTaskMixin, as a function that adds behaviour to any task class.
 */
import { Celeriac, Task } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

const connection = {
  opened: 0,
  ensure(): void {
    this.opened++
  },
}

/** Ensures the database connection before every run (Celery's `__call__` override). */
class DatabaseTask extends Task {
  override call(...args: unknown[]): unknown {
    connection.ensure()
    return super.call(...args)
  }
}

/** Logs every outcome. */
class LoggedTask extends Task {
  override onSuccess(_retval: unknown, taskId: string): void {
    this.log.info(`Task ${this.name}[${taskId}] succeeded`)
  }
  override onFailure(exc: unknown, taskId: string): void {
    this.log.error(`Task ${this.name}[${taskId}] failed: ${String(exc)}`)
  }
  override onRetry(exc: unknown, taskId: string): void {
    this.log.warn(`Task ${this.name}[${taskId}] retrying: ${String(exc)}`)
  }
}

const users = new Map([[1, { id: 1, email: 'ada@example.com' }]])

/** The seed's mixin: option defaults and a helper, on top of any base. */
// biome-ignore lint/suspicious/noExplicitAny: TypeScript's mixin rule wants `any[]` constructor arguments here (TS2545).
function NotificationTaskMixin<B extends new (...args: any[]) => Task>(Base: B) {
  return class NotificationTask extends Base {
    override maxRetries = 3
    override defaultRetryDelay = 60_000
    getUser(userId: number): { id: number; email: string } {
      const user = users.get(userId)
      if (user === undefined) throw new Error(`no user ${userId}`)
      return user
    }
  }
}
class EmailNotificationTask extends NotificationTaskMixin(Task) {}

export async function run() {
  const app = new Celeriac({ clock: virtualClock() })
  const lines: string[] = []
  app.events.on('log', (line) => lines.push(`${line.level}: ${line.text.replace(/\[[^\]]+\]/, '[id]')}`))

  const report = app.task('db.report', { base: DatabaseTask }, (day: string) => `report for ${day}`)
  let attempts = 0
  const myLoggedTask = app.task('logged.task', { base: LoggedTask, bind: true, defaultRetryDelay: 10 }, (self, data: string) => {
    attempts++
    if (data === 'flaky' && self.request.retries === 0) throw self.retry({ exc: new Error('temporary') })
    if (data === 'bad') throw new Error('cannot process')
    return data
  })
  const sendEmail = app.task('notify.email', { base: EmailNotificationTask, bind: true }, (self, userId: number, template: string) => ({
    to: self.getUser(userId).email,
    template,
    maxRetries: self.maxRetries,
    defaultRetryDelay: self.defaultRetryDelay,
  }))

  await app.start()
  const outcome = {
    report: await (await report.delay('monday')).get(),
    connectionsEnsured: connection.opened,
    logged: await (await myLoggedTask.delay('fine')).get(),
    flaky: await (async () => {
      const r = await myLoggedTask.delay('flaky')
      await (app.clock as ReturnType<typeof virtualClock>).runAll()
      return r.get()
    })(),
    bad: await (await myLoggedTask.delay('bad')).get().catch((e: unknown) => String(e)),
    email: await (await sendEmail.delay(1, 'welcome')).get(),
  }
  await app.whenIdle()
  await app.stop()
  return { ...outcome, attempts, lines }
}

runIfMain(import.meta, run)
