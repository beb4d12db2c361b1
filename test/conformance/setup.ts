/**
 * The conformance matrix in Node: every scenario runs on every storage × executor that exists
 * here. Add a combination when a storage or executor lands; it is done when the whole suite is
 * green. `setup.browser.ts` is the same matrix in Chromium.
 */
// IndexedDB's globals for the indexedDB combination, as a browser has them.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inline, memoryStorage } from '../../src/index.js'
import { fileStorage, threads } from '../../src/node.js'
import { indexedDBStorage } from '../../src/browser.js'
import { forEachComboOf, selectCombos } from './harness.js'
import type { Combo } from './harness.js'

export { seeded, setup } from './harness.js'
export type { Combo, Harness } from './harness.js'

const workerTasks = new URL('./worker-tasks.ts', import.meta.url)
const fileDirs: string[] = []

/** A fresh directory for each file storage; removed after the combination's scenarios. */
function fileDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-conformance-'))
  fileDirs.push(dir)
  return dir
}

function removeFileDirs(): void {
  for (const dir of fileDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

const allCombos: readonly Combo[] = [
  { asyncContext: true, name: 'memory × inline', storage: () => memoryStorage(), executor: () => inline() },
  { asyncContext: true, name: 'memory × threads', storage: () => memoryStorage(), executor: () => threads({ module: workerTasks, size: 2 }) },
  { asyncContext: true, name: 'file × inline', storage: () => fileStorage({ dir: fileDir() }), executor: () => inline() },
  { asyncContext: true, name: 'file × threads', storage: () => fileStorage({ dir: fileDir() }), executor: () => threads({ module: workerTasks, size: 2 }) },
  // In Node on fake-indexeddb; setup.browser.ts runs the suite on Chromium's real IndexedDB.
  {
    asyncContext: true,
    name: 'indexedDB × inline',
    storage: () => indexedDBStorage({ name: 'conformance', indexedDB: new IDBFactory() }),
    executor: () => inline(),
  },
]

/**
 * The combinations this run covers: all of them, or those whose names contain one of the
 * comma-separated words in CELERIAC_COMBOS (e.g. `CELERIAC_COMBOS=inline`, `=file`).
 */
const combos: readonly Combo[] = selectCombos(allCombos, process.env.CELERIAC_COMBOS)

/** Runs `body` once per combination, inside a describe named after it. */
export function forEachCombo(title: string, body: (combo: Combo) => void): void {
  forEachComboOf(combos, title, body, removeFileDirs)
}
