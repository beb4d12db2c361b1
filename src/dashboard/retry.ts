/**
 * Retry from the dashboard (Flower's "retry"): a FAILURE or REVOKED task sent again as a new
 * root task with a new id, with the name, arguments, queue and priority of its `task-sent`
 * event. It does not rejoin the chain or chord it was part of (their bodies have moved on or
 * failed); the new task is on its own. No DOM, no Node: the endpoint and `appSource` share it.
 */
import type { Celeriac } from '../core/app/app.js'
import { ConfigError } from '../core/model/errors.js'
import type { SentTasks } from './sent-tasks.js'

const RETRYABLE = new Set(['FAILURE', 'REVOKED'])

/** Sends task `id` again; resolves with the new task's id. ConfigError when it cannot. */
export async function retryTask(app: Celeriac, sent: SentTasks, id: string): Promise<string> {
  const state = await app.AsyncResult(id).state()
  if (!RETRYABLE.has(state)) throw new ConfigError(`retry: task ${id} is ${state}; only a FAILURE or REVOKED task can be sent again`)
  const task = sent.get(id)
  if (task === undefined) {
    throw new ConfigError(
      `retry: the arguments of task ${id} are not known here (they are remembered from its task-sent event, seen only while a dashboard or event stream is open); send it again from your code`,
    )
  }
  const handle = await app.sendTask(task.name, task.args, { queue: task.queue, priority: task.priority })
  return handle.id
}
