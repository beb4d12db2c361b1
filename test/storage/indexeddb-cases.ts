/**
 * IndexedDB storage's own cases, beyond the storage contract: one list run on fake-indexeddb in
 * Node (`indexeddb.test.ts`) and on Chromium's real IndexedDB (`indexeddb.browser.ts`), so that
 * the two cannot drift. Every case opens databases of its own, named with a fresh UUID.
 *
 * @example
 * indexedDBCases({ factory: () => new IDBFactory(), database: IDBDatabase })
 */
import { expect, it, vi } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import type { StorageChange } from '../../src/index.js'
import { indexedDBStorage } from '../../src/browser.js'
import { virtualClock } from '../../src/testing.js'

/** Where the cases run: an IndexedDB implementation. */
export interface IndexedDBPlace {
  /** The factory a case opens its databases with: a fresh fake one, or the page's own. */
  factory(): IDBFactory
  /** The connection class of that factory: a flush calls its prototype's `transaction`. */
  database: { prototype: IDBDatabase }
}

const unique = (what: string): string => `${what}-${crypto.randomUUID()}`

/** Opens `name` with the raw IndexedDB API: at `version` (with `upgrade`), or at its current one. */
function rawOpen(factory: IDBFactory, name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, version)
    request.onupgradeneeded = () => upgrade?.(request.result)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

export function indexedDBCases(place: IndexedDBPlace): void {
  it('two handles on one database see each other: writes, and watch notifications', async () => {
    const factory = place.factory()
    const name = unique('shared')
    const a = indexedDBStorage({ name, indexedDB: factory })
    const b = indexedDBStorage({ name, indexedDB: factory })
    await a.open()
    await b.open()
    let stop = (): void => undefined
    const heard = new Promise<readonly StorageChange[]>((resolve) => (stop = b.watch!(resolve)))
    try {
      await a.write([{ op: 'put', ns: 'results', key: 'r1', value: { state: 'SUCCESS' } }])
      expect(await b.get('results', 'r1')).toEqual({ state: 'SUCCESS' })
      expect(await heard).toEqual([{ ns: 'results', key: 'r1' }])
    } finally {
      stop()
      await a.close()
      await b.close()
    }
  })

  it('many calls in one tick share one transaction and all land', async () => {
    const name = unique('batch')
    const storage = indexedDBStorage({ name, indexedDB: place.factory() })
    await storage.open()
    // On the prototype: the storage's connection is idb's proxy over one of these.
    const transaction = vi.spyOn(place.database.prototype, 'transaction')
    try {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) => storage.write([{ op: 'put', ns: 'messages', key: `m${i}`, value: { queue: 'default', priority: 0, seq: i } }])),
      )
      // Counted on this database's connections only: a page may hold others.
      expect(transaction.mock.contexts.filter((db) => (db as IDBDatabase).name === name)).toHaveLength(1)
    } finally {
      transaction.mockRestore()
    }
    expect(await storage.entries('messages')).toHaveLength(500)
    await storage.close()
  })

  it("opening a version 1 database keeps its records and drops the unused 'ready' index", async () => {
    const factory = place.factory()
    const name = unique('v1')
    const v1 = await rawOpen(factory, name, 1, (db) => {
      // Version 1's stores, as they were (not today's list).
      for (const ns of ['messages', 'results', 'chords', 'locks', 'revoked', 'meta']) {
        const store = db.createObjectStore(ns)
        if (ns === 'messages') store.createIndex('ready', ['queue', 'priority', 'seq'])
      }
    })
    await new Promise<void>((resolve, reject) => {
      const tx = v1.transaction(['messages', 'results'], 'readwrite')
      tx.objectStore('messages').put({ id: 'm1', queue: 'default', priority: 0, seq: 1 }, 'm1')
      tx.objectStore('results').put({ state: 'SUCCESS', result: 5 }, 'r1')
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    expect(Array.from(v1.transaction('messages', 'readonly').objectStore('messages').indexNames)).toEqual(['ready'])
    v1.close()
    const storage = indexedDBStorage({ name, indexedDB: factory })
    await storage.open()
    expect(await storage.get('messages', 'm1')).toEqual({ id: 'm1', queue: 'default', priority: 0, seq: 1 })
    expect(await storage.get('results', 'r1')).toEqual({ state: 'SUCCESS', result: 5 })
    await storage.close()
    const after = await rawOpen(factory, name)
    try {
      expect(after.version).toBeGreaterThan(1)
      expect(Array.from(after.transaction('messages', 'readonly').objectStore('messages').indexNames)).toEqual([])
    } finally {
      after.close()
    }
  })

  it('bad options are ConfigErrors', () => {
    expect(() => indexedDBStorage({ name: '' })).toThrow(ConfigError)
  })

  it('two apps on one database: the consumer runs what the producer sends, and the producer reads the result from the notification', async () => {
    const factory = place.factory()
    const name = unique('tabs')
    const clock = virtualClock()
    const consumer = new Celeriac({ name: 'tabs', storage: indexedDBStorage({ name, indexedDB: factory }), clock })
    const producer = new Celeriac({ name: 'tabs', storage: indexedDBStorage({ name, indexedDB: factory }), clock, consume: false })
    for (const app of [consumer, producer]) app.task('tabs.add', (a: number, b: number) => a + b)
    await consumer.start()
    await producer.start()
    try {
      const r = await producer.sendTask<number>('tabs.add', [2, 3])
      expect(await r.get()).toBe(5)
    } finally {
      await producer.stop()
      await consumer.stop()
    }
  })
}
