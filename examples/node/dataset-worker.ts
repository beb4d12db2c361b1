/** The module each worker of the threads executor imports: it registers the dataset tasks. */
import { Celeriac } from '../../src/index.js'
import { defineDatasetTasks } from './dataset-tasks.js'

defineDatasetTasks(new Celeriac({ name: 'dataset-worker' }))
