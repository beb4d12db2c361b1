/** The module each worker thread of the main process imports: it registers the tasks there. */
import { Celeriac } from '../../src/index.js'
import { defineTasks } from './tasks.js'

defineTasks(new Celeriac({ name: 'electron-worker' }))
