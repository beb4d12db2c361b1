/** The worker_threads entry: a thin shell around the shared worker loop. */
import { parentPort, workerData } from 'node:worker_threads'
import { runWorkerLoop } from '../../core/executor/worker-loop.js'
import { trackRunsAcrossAwaits } from './async-context.js'
import type { ToWorker } from '../../core/model/protocol.js'

trackRunsAcrossAwaits()

const port = parentPort
if (port === null) throw new Error('celeriac node-worker must run inside a worker thread')
const { module, concurrency } = workerData as { module: string; concurrency: number }

void runWorkerLoop({
  moduleName: module,
  concurrency,
  post: (message) => port.postMessage(message),
  listen: (handler) => port.on('message', (batch: ToWorker) => handler(batch)),
  load: () => import(module),
})
