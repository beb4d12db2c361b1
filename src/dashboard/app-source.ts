/**
 * `appSource(app)`: the dashboard over an app in the same page (a browser app on IndexedDB
 * storage, say), with no endpoint: the same calls the endpoint makes, made directly.
 */
import type { Celeriac } from '../core/app/app.js'
import { EVENT_NAMES } from '../core/model/events.js'
import type { TaskSentEvent } from '../core/model/events.js'
import { toWire } from '../serve/wire.js'
import { retryTask } from './retry.js'
import { SentTasks } from './sent-tasks.js'
import type { DashboardSource } from './source.js'
import type { DashboardEvent, InspectSnapshot, ResultView } from './types.js'

/**
 * The dashboard's source over `app`, a started app in this page. The app's events are heard
 * only while the dashboard is mounted; a retry needs the task's `task-sent` event to have been
 * heard then (the last 10 000 sends are remembered).
 *
 * @example
 * import { Celeriac, indexedDBStorage } from 'celeriac/browser'
 * import { appSource, mountDashboard } from 'celeriac/dashboard'
 * const app = new Celeriac({ storage: indexedDBStorage({ name: 'shop' }), consume: 'leader' })
 * await app.start()
 * const dashboard = mountDashboard(document.getElementById('tasks')!, { source: appSource(app) })
 * // later: dashboard.unmount()
 */
export function appSource(app: Celeriac): DashboardSource {
  const sent = new SentTasks()
  const json = <T>(value: unknown): T => toWire(value) as T
  return {
    async inspect(): Promise<InspectSnapshot> {
      const inspect = app.inspect
      return json<InspectSnapshot>({ active: inspect.active(), reserved: inspect.reserved(), scheduled: inspect.scheduled(), queues: inspect.queues() })
    },
    result: async (id) => json<ResultView>(await app.AsyncResult(id).status()),
    revoke: (id, options = {}) => app.control.revoke(id, { terminate: options.terminate === true }),
    retry: (id) => retryTask(app, sent, id),
    pause: (queue) => app.control.pause(queue),
    resume: (queue) => app.control.resume(queue),
    subscribe(listener, state) {
      const listeners = EVENT_NAMES.map((name) => {
        const fn = (payload: unknown): void => {
          if (name === 'task-sent') sent.record(payload as TaskSentEvent)
          listener({ type: name, data: json<DashboardEvent['data']>(payload) })
        }
        app.events.on(name, fn as never)
        return [name, fn] as const
      })
      state?.('live')
      return () => {
        for (const [name, fn] of listeners) app.events.off(name, fn as never)
      }
    },
  }
}
