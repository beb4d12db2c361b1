/**
 * The main process's engine: durable jobs on file storage (they survive a quit or a crash) and
 * CPU work on worker threads. Electron-free, so the example's test runs it under plain Node.
 */
import { Celeriac } from '../../src/index.js'
import { fileStorage, threads } from '../../src/node.js'
import { defineTasks } from './tasks.js'

/** `worker`: the worker threads' module (worker.ts, or worker.js once built). */
export async function startEngine(dir: string, worker: URL): Promise<Celeriac> {
  const app = new Celeriac({
    name: 'thumbnails',
    storage: fileStorage({ dir }),
    executor: threads({ module: worker, size: 2 }),
  })
  defineTasks(app)
  await app.start()
  return app
}
