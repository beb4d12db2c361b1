/** The app's configuration: its options and their defaults. */
import type { Clock } from '../time/clock.js'
import type { Storage } from '../../storage/types.js'
import type { Executor } from '../executor/executor.js'
import type { ErrorClass } from '../model/errors.js'
import type { Network, QueueOptions, Route, TaskOptions } from '../model/options.js'

/** The app's configuration. */
export interface Config {
  /** A name for logs and `request.hostname`. @default 'celeriac' */
  name?: string
  /** Where messages and results live. @default memoryStorage() */
  storage?: Storage
  /** Where tasks run. @default inline() */
  executor?: Executor
  /** Time source for every engine timer. @default systemClock() */
  clock?: Clock
  /** Declared queues with their concurrency. Sending to an undeclared queue is an error once any is declared. @default { default: {} } */
  queues?: Record<string, QueueOptions>
  /** Task name or glob (`'images.*'`) -> queue and priority. */
  routes?: Record<string, Route>
  /** How long results are kept, ms. @default 86_400_000 (one day) */
  resultExpires?: number
  /** Defaults for every task of this app. */
  taskDefaults?: TaskOptions
  /**
   * Consume tasks: `true`; `false` for a producer-only app; `'leader'` for apps that share
   * storage across tabs: every tab sends and reads results, one tab at a time (elected with
   * the Web Locks API, `navigator.locks`) consumes, and when it closes another takes over and
   * finishes the queued work. Tabs elect among apps of the same `name`.
   * @default true
   */
  consume?: boolean | 'leader'
  /** Error classes that should arrive as themselves in results and across workers. */
  errors?: readonly ErrorClass[]
  /** Random source in [0, 1) for retry jitter; seed it in tests. @default Math.random */
  random?: () => number
  /**
   * Whether the network is up, for tasks with `requires: 'online'`.
   * @default the browser's `navigator.onLine` and its online/offline events; always up elsewhere
   */
  network?: Network
}

/** The default network: the browser's when there is one, else always online. */
export function defaultNetwork(): Network {
  const scope = globalThis as {
    navigator?: { onLine?: boolean }
    addEventListener?: (type: string, listener: () => void) => void
    removeEventListener?: (type: string, listener: () => void) => void
  }
  return {
    isOnline: () => scope.navigator?.onLine ?? true,
    subscribe(onChange) {
      if (scope.addEventListener === undefined) return () => undefined
      scope.addEventListener('online', onChange)
      scope.addEventListener('offline', onChange)
      return () => {
        scope.removeEventListener?.('online', onChange)
        scope.removeEventListener?.('offline', onChange)
      }
    },
  }
}

