/**
 * The Web Worker script of the Chromium conformance run: the same tasks as the page. The app is
 * made inside `load` (the test runner's transform rewrites dynamic imports in a way a worker
 * cannot run, so the module is imported statically; it only defines functions).
 */
import { Celeriac, serveWorker } from '../../src/browser.js'
import { defineAllTasks } from './tasks.js'

void serveWorker(async () => {
  defineAllTasks(new Celeriac({ name: 'conformance-worker' }))
})
