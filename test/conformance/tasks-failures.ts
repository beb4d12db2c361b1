/**
 * Tasks of the failure matrix (`failure-matrix.test.ts`) that no other scenario has. Names start
 * with `fm.`. Loaded in the main thread and in every worker (Node threads, Web Workers).
 */
import type { Celeriac, Task } from '../../src/index.js'

/** The name of the app the worker task modules register on (`worker-tasks*.ts`). */
const WORKER_APP = 'conformance-worker'

export function defineFailureTasks(app: Celeriac) {
  return {
    /**
     * Works `ms` on the clock, then crashes the worker running it: an error thrown outside the
     * task (from a timer) ends a Node worker thread, and a Web Worker's pool takes an uncaught
     * error for a crash too. In the main thread (the inline executor) it refuses: the same throw
     * would crash the test runner, and there is no worker to lose.
     */
    fmCrashWorker: app.task('fm.crashWorker', { bind: true }, async (self: Task, ms: number) => {
      if (self.app.name !== WORKER_APP) throw new Error(`fm.crashWorker runs in a worker only, not in app '${self.app.name}'`)
      await self.sleep(ms)
      setTimeout(() => {
        throw new Error('fm.crashWorker: the worker crashed')
      }, 0)
      return new Promise<never>(() => undefined)
    }),
  }
}
