/**
 * The conformance matrix: every scenario runs on every storage × executor that exists. Add a
 * combination here when a storage or executor lands; it is done when the whole suite is green.
 *
 * Scenario tasks are defined in `tasks-*.ts` modules (functions taking the app), never as
 * closures over test state: worker executors load the same modules in their workers, so a
 * scenario observes behaviour through results, states, events and `self.log` lines only.
 */
// IndexedDB's globals for the indexedDB combination, as a browser has them.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, describe } from 'vitest'
import { Celeriac, inline, memoryStorage } from '../../src/index.js'
import type { Config, Executor, LogEvent, Storage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileStorage, threads } from '../../src/node.js'
import { indexedDBStorage } from '../../src/browser.js'
import { defineAllTasks } from './tasks.js'
import type { ConformanceTasks } from './tasks.js'

export { defineAllTasks }
export type { ConformanceTasks }

export interface Combo {
  readonly name: string
  storage(): Storage
  executor(): Executor
}

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
  { name: 'memory × inline', storage: () => memoryStorage(), executor: () => inline() },
  { name: 'memory × threads', storage: () => memoryStorage(), executor: () => threads({ module: workerTasks, size: 2 }) },
  { name: 'file × inline', storage: () => fileStorage({ dir: fileDir() }), executor: () => inline() },
  { name: 'file × threads', storage: () => fileStorage({ dir: fileDir() }), executor: () => threads({ module: workerTasks, size: 2 }) },
  // In Node on fake-indexeddb; the browser tests run the suite on Chromium's real IndexedDB.
  { name: 'indexedDB × inline', storage: () => indexedDBStorage({ name: 'conformance', indexedDB: new IDBFactory() }), executor: () => inline() },
]

/**
 * The combinations this run covers: all of them, or those whose names contain one of the
 * comma-separated words in CELERIAC_COMBOS (e.g. `CELERIAC_COMBOS=inline`, `=file`).
 */
export const combos: readonly Combo[] = selectCombos(process.env.CELERIAC_COMBOS)

function selectCombos(filter: string | undefined): readonly Combo[] {
  if (filter === undefined || filter.trim() === '') return allCombos
  const words = filter.split(',').map((w) => w.trim()).filter((w) => w.length > 0)
  return allCombos.filter((c) => words.some((w) => c.name.includes(w)))
}

export interface Harness {
  app: Celeriac
  clock: VirtualClock
  tasks: ConformanceTasks
  /** Lines tasks wrote with `self.log`, in order. */
  logs: LogEvent[]
  /** The texts of `logs`. */
  lines(): string[]
  stop(): Promise<void>
}

/** A started app on `combo` with a virtual clock and every conformance task. */
export async function setup(combo: Combo, config: Config = {}): Promise<Harness> {
  const clock = virtualClock()
  const app = new Celeriac({ name: 'conformance', storage: combo.storage(), executor: combo.executor(), clock, random: seeded(42), ...config })
  const tasks = defineAllTasks(app)
  const logs: LogEvent[] = []
  app.events.on('log', (e) => logs.push(e))
  await app.start()
  return {
    app,
    clock,
    tasks,
    logs,
    lines: () => logs.map((l) => l.text),
    stop: () => app.stop({ timeout: 1_000 }),
  }
}

/** Runs `body` once per combination, inside a describe named after it. */
export function forEachCombo(title: string, body: (combo: Combo) => void): void {
  for (const combo of combos) {
    describe(`${title} [${combo.name}]`, () => {
      afterAll(removeFileDirs)
      body(combo)
    })
  }
}

/** A deterministic random source in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
