/** How the app's sends become messages: ids, task profiles, routes, the default queue and the queue check. */
import type { ExpandEnv } from '../canvas/expand.js'
import { ConfigError } from '../model/errors.js'
import type { TaskProfile } from '../model/options.js'
import type { ResolvedConfig } from './config.js'

/** The app's {@link ExpandEnv}, on `c` as it is when the app starts. */
export function expandEnvOf(c: ResolvedConfig, newId: () => string, profile: (name: string) => TaskProfile | undefined): ExpandEnv {
  return {
    now: () => c.clock.now(),
    newId,
    profile,
    route: (name) => {
      if (c.routes.length === 0) return undefined
      for (let i = 0; i < c.routes.length; i++) if (c.routes[i]![0].test(name)) return c.routes[i]![1]
      return undefined
    },
    defaultQueue: c.defaultQueue,
    checkQueue: (queue, task) => {
      // Python workers' queues (`celery`) are theirs to declare.
      if (c.declaredQueues && !c.foreignWorkers && !c.queues.has(queue)) {
        throw new ConfigError(`sending '${task}': unknown queue '${queue}'; declare it in the app's queues (${[...c.queues.keys()].join(', ')})`)
      }
    },
  }
}
