/** The task module the worker executors import in each worker: the same tasks as the main thread. */
import { Celeriac } from '../../src/index.js'
import { defineAllTasks } from './tasks.js'

defineAllTasks(new Celeriac({ name: 'conformance-worker' }))
