/**
 * The durable storages a restart test runs on (file storage in a temp dir, IndexedDB through
 * fake-indexeddb): each location's `open()` gives a new handle on the same data, as a restarted
 * process (or another tab) would. Call `cleanUp` after each test.
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Storage } from '../../src/index.js'
import { indexedDBStorage } from '../../src/browser.js'
import { fileStorage } from '../../src/node.js'

/** A durable location: `open()` gives a new handle on it, as a restarted process would. */
export interface Location {
  open(): Storage
}

/** The locations, named for `describe.each`; `name` tells their directories and databases apart. */
export function durableLocations(name: string): { locations: Array<[string, () => Location]>; cleanUp(): void } {
  const dirs: string[] = []
  let databases = 0
  const locations: Array<[string, () => Location]> = [
    [
      'file',
      () => {
        const dir = mkdtempSync(join(tmpdir(), `celeriac-${name}-`))
        dirs.push(dir)
        return { open: () => fileStorage({ dir, onWarning: () => {} }) }
      },
    ],
    [
      'indexedDB',
      () => {
        // A name of its own: handles of one name hear each other through a BroadcastChannel.
        const factory = new IDBFactory()
        const database = `${name}-${String(++databases)}`
        return { open: () => indexedDBStorage({ name: database, indexedDB: factory }) }
      },
    ],
  ]
  const cleanUp = (): void => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
  return { locations, cleanUp }
}
