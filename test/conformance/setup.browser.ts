/**
 * The conformance matrix in Chromium (the `chromium` vitest project): the same scenarios as in
 * Node, on the browser's real IndexedDB, inline and in real Web Workers.
 */
import { indexedDBStorage, inline } from '../../src/browser.js'
import { webWorkersExecutor } from '../../src/adapters/browser/web-workers.js'
import { keptWorkers } from '../workers/kept-workers.js'
import { bundledWorker } from '../workers/browser-bundled.js'
import { forEachComboOf } from './harness.js'
import type { Combo } from './harness.js'

export { seeded, setup } from './harness.js'
export type { Combo, Harness } from './harness.js'

/**
 * The worker script bundled once per run (test/workers/browser-bundled.ts), as a blob: URL; idle
 * workers are kept for the next app of the test file (test/workers/kept-workers.ts).
 */
const workerUrl = bundledWorker(new URL('./worker-tasks.browser.ts', import.meta.url))

const combos: readonly Combo[] = [
  {
    asyncContext: false,
    name: 'indexedDB × inline (Chromium)',
    storage: () => indexedDBStorage({ name: `conformance-${crypto.randomUUID()}` }),
    executor: () => inline(),
  },
  {
    // One task at a time per worker (tasksPerWorker 1): the worker knows which task sends.
    asyncContext: true,
    name: 'indexedDB × webWorkers (Chromium)',
    storage: () => indexedDBStorage({ name: `conformance-${crypto.randomUUID()}` }),
    executor: () => webWorkersExecutor({ url: workerUrl, size: 2 }, keptWorkers),
  },
]

export function forEachCombo(title: string, body: (combo: Combo) => void): void {
  forEachComboOf(combos, title, body)
}
