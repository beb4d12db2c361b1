/** Each Web Worker loads the task module and serves celeriac's executor protocol. */
import { Celeriac, serveWorker } from '../../src/browser.js'

void serveWorker(async () => {
  const { defineDatasetTasks } = await import('./tasks.js')
  defineDatasetTasks(new Celeriac({ name: 'dataset-worker' }))
})
