/**
 * What the app checks of a call before the engine sees it: a task name someone here runs, a
 * queue the app declares, an engine to call. Each refusal says what to do.
 */
import { ConfigError, NotRegistered } from '../model/errors.js'
import { checkName } from '../model/validate.js'
import { inWorker } from '../task/registry.js'
import type { ResolvedConfig } from './config.js'

/** A consuming app refuses a send of a task that neither it (`getTask`) nor its workers define. */
export function checkKnown(c: ResolvedConfig, name: string, getTask: (name: string) => unknown): void {
  checkName(name, 'the task name')
  // A producer (or a tab waiting to lead) may send tasks only the consumer's workers define.
  if (c.consume !== true || c.foreignWorkers) return
  if (getTask(name) !== undefined) return
  if (c.executor.registered?.().has(name)) return
  throw new NotRegistered(`Task '${name}' is not registered on this app or its workers; define it with app.task('${name}', fn) (or sharedTask)`)
}

/** With `declaredQueues`, a control call (`what`) names a queue the app declares. */
export function checkDeclared(c: ResolvedConfig, queue: string, what: string): void {
  if (c.declaredQueues && !c.queues.has(queue))
    throw new ConfigError(`${what}('${queue}'): unknown queue; name one the app declares in its queues (${[...c.queues.keys()].join(', ')})`)
}

/** Why `what` finds no engine: the app has not started, or has stopped, or this is a worker's app. */
export function noEngine(what: string, stopped: boolean): ConfigError {
  if (stopped) return new ConfigError(`Cannot ${what}: the app has stopped`)
  if (inWorker()) {
    return new ConfigError(
      `Cannot ${what} in a worker outside a task it knows: its app is not started (the main thread's is). In a task, use bind: true and self.delay() or self.send(); in a browser worker a plain send knows its task only with tasksPerWorker: 1, and not while another task of that worker waits for a result`,
    )
  }
  return new ConfigError(`Cannot ${what}: the app has not started; await app.start() first`)
}
