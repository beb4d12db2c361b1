/**
 * Sends made by a task's code without `self` (`other.delay()`, `app.send(sig)`, `sig.delay()`):
 * where the running task is known (current-run.ts), they go through the run, as its children,
 * exactly as `self.send` does: parentId, rootId, the parent's headers and its `children()`.
 */
import { Signature } from '../canvas/signature.js'
import type { SendOptions } from '../model/options.js'
import { checkSendOptions } from '../model/validate.js'
import { currentRun } from '../task/current-run.js'
import type { CurrentRun } from '../task/current-run.js'
import type { TaskOwner } from '../task/task.js'

/**
 * The run that is sending through `owner`, if the send is its child: the run's task belongs to
 * `owner`, or one of them is the shared owner (`sharedTask`). A send through another app is that
 * app's new root: the run's engine and storage are not the other app's.
 */
export function sendingRun(owner: TaskOwner, shared: TaskOwner): CurrentRun | undefined {
  const run = currentRun()
  if (run === undefined) return undefined
  const ranBy = run.task.app
  return ranBy === owner || ranBy === shared || owner === shared ? run : undefined
}

/** `task.delay(...args)` / `sendTask(name, args, options)` from inside `run`. */
export function sendCallFrom(run: CurrentRun, name: string, args: readonly unknown[], options: SendOptions): Promise<unknown> {
  let sig: Signature<unknown[], unknown, unknown>
  try {
    checkSendOptions(options, name)
    sig = new Signature({ task: name, args: args as unknown[], options: {}, immutable: true, sender: undefined })
  } catch (error) {
    // Bad input rejects the send's promise, as every send does.
    return Promise.reject(error)
  }
  return run.context().send(sig, [], options)
}
