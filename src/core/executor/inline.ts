/**
 * The inline executor: tasks run on the calling thread, through the same {@link TaskRuntime} a
 * worker runs.
 */
import { outsideRuns } from '../task/current-run.js'
import type { FromRuntime } from '../model/protocol.js'
import { TaskRuntime } from './executor.js'
import type { Executor } from './types.js'

/**
 * Runs tasks on the calling thread, still through the serializer (arguments, results and errors
 * cross as data, as they would to a worker). The default executor. `terminate` and hard time
 * limits settle the result at once and ignore the task's later outcome and states (also when a
 * new run of its id has started meanwhile); the task itself only stops if it honours `self.signal`,
 * and its logs, sends and locks still go through.
 *
 * @example
 * const app = new Celeriac({ executor: inline() })
 */
export function inline(): Executor {
  let runtime: TaskRuntime | undefined
  return {
    name: 'inline',
    capacity: Number.POSITIVE_INFINITY,
    canTerminate: false,
    reportsStart: false,
    async start(host) {
      // What the runtime reports is the engine's work, not the running task's: listeners the
      // engine calls (events) must not find that task (current-run.ts).
      const receive = (m: FromRuntime): void => host.receive(m)
      runtime = new TaskRuntime({ lookup: (name) => host.lookup(name), post: (m) => outsideRuns(receive, m) })
    },
    post(message) {
      runtime?.handle(message)
    },
    async stop() {
      runtime = undefined
    },
  }
}
