/** The demo's app on the embedded default (memory storage, inline executor) and its tasks. */
import { Celeriac } from '../../src/index.js'
import { defineDatasetTasks } from './dataset-tasks.js'

export const app = new Celeriac({ name: 'dataset-demo', queues: { default: { concurrency: 4 } } })
export const { processChunk, aggregate } = defineDatasetTasks(app)
