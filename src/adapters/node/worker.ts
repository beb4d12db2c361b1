/** The worker_threads entry: a thin shell around the shared worker loop. */
import { fileURLToPath } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'
import { runWorkerLoop } from '../../core/executor/worker-loop.js'
import { trackRunsAcrossAwaits } from './async-context.js'
import type { ToWorker } from '../../core/executor/wire.js'

trackRunsAcrossAwaits()

const port = parentPort
if (port === null) throw new Error('celeriac node-worker must run inside a worker thread')
const { module, concurrency } = workerData as { module: string; concurrency: number }

void runWorkerLoop({
  moduleName: module,
  concurrency,
  post: (message) => port.postMessage(message),
  listen: (handler) => port.on('message', (batch: ToWorker) => handler(batch)),
  load: () => loadTaskModule(module),
})

/**
 * Imports the task module. The CommonJS build of this file turns import() into require(), which
 * takes a path, not a file: URL: its "not found" (MODULE_NOT_FOUND, where import() says
 * ERR_MODULE_NOT_FOUND) is retried with the path.
 */
async function loadTaskModule(specifier: string): Promise<unknown> {
  try {
    return await import(specifier)
  } catch (error) {
    if (!specifier.startsWith('file:') || (error as { code?: unknown } | null)?.code !== 'MODULE_NOT_FOUND') throw error
    return import(fileURLToPath(specifier))
  }
}
