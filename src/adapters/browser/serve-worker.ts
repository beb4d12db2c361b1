/// <reference lib="webworker" />
/**
 * The inside of a celeriac Web Worker: call it from your worker script with a function that
 * imports your task module.
 */
import { runWorkerLoop } from '../../core/executor/worker-loop.js'
import type { ToWorker } from '../../core/executor/wire.js'

/**
 * Serves celeriac's executor protocol in this Web Worker. `load` imports the task module (a
 * dynamic import, so that the apps it creates register their tasks here).
 *
 * @example
 * // worker.ts
 * import { serveWorker } from 'celeriac/browser'
 * serveWorker(() => import('./tasks.js'))
 */
export function serveWorker(load: () => Promise<unknown>, options: { concurrency?: number } = {}): Promise<void> {
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope
  return runWorkerLoop({
    moduleName: scope.location?.href ?? 'worker',
    concurrency: options.concurrency ?? concurrencyFromName(scope.name),
    post: (message) => scope.postMessage(message),
    listen: (handler) => {
      scope.onmessage = (event: MessageEvent<ToWorker>) => handler(event.data)
    },
    load,
  })
}

function concurrencyFromName(name: string | undefined): number {
  try {
    const settings = JSON.parse(name ?? '') as { celeriac?: { concurrency?: number } }
    return settings.celeriac?.concurrency ?? 1
  } catch {
    return 1
  }
}
