/** IndexedDB storage on fake-indexeddb in Node (the same suite runs in Chromium with the browser issue). */
// Installs IDBRequest, IDBKeyRange and the rest as globals, as a browser has them (idb needs them).
import 'fake-indexeddb/auto'
import { IDBDatabase, IDBFactory } from 'fake-indexeddb'
import { expect, it, vi } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import type { Storage, StorageChange } from '../../src/index.js'
import { indexedDBStorage } from '../../src/browser.js'
import { virtualClock } from '../../src/testing.js'
import { storageContract } from './contract.js'

let counter = 0
const factoryOf = new WeakMap<Storage, { factory: IDBFactory; name: string }>()

storageContract(
  'indexeddb (fake-indexeddb)',
  () => {
    const factory = new IDBFactory()
    const name = `contract-${++counter}`
    const storage = indexedDBStorage({ name, indexedDB: factory })
    factoryOf.set(storage, { factory, name })
    return storage
  },
  {
    reopen: (storage) => {
      const { factory, name } = factoryOf.get(storage)!
      return indexedDBStorage({ name, indexedDB: factory })
    },
  },
)

it('two handles on one database see each other: writes, and watch notifications', async () => {
  const factory = new IDBFactory()
  const a = indexedDBStorage({ name: 'shared', indexedDB: factory })
  const b = indexedDBStorage({ name: 'shared', indexedDB: factory })
  await a.open()
  await b.open()
  let stop = (): void => undefined
  const heard = new Promise<readonly StorageChange[]>((resolve) => (stop = b.watch!(resolve)))
  await a.write([{ op: 'put', ns: 'results', key: 'r1', value: { state: 'SUCCESS' } }])
  expect(await b.get('results', 'r1')).toEqual({ state: 'SUCCESS' })
  expect(await heard).toEqual([{ ns: 'results', key: 'r1' }])
  stop()
  await a.close()
  await b.close()
})

it('many calls in one tick share one transaction and all land', async () => {
  const storage = indexedDBStorage({ name: 'batch', indexedDB: new IDBFactory() })
  await storage.open()
  const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction')
  try {
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => storage.write([{ op: 'put', ns: 'messages', key: `m${i}`, value: { queue: 'default', priority: 0, seq: i } }])),
    )
    expect(transaction).toHaveBeenCalledTimes(1)
  } finally {
    transaction.mockRestore()
  }
  expect(await storage.entries('messages')).toHaveLength(500)
  await storage.close()
})

it("opening a version 1 database keeps its records and drops the unused 'ready' index", async () => {
  const factory = new IDBFactory()
  const raw = (version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> =>
    new Promise((resolve, reject) => {
      const request = factory.open('v1', version)
      request.onupgradeneeded = () => upgrade?.(request.result)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
  const v1 = await raw(1, (db) => {
    // Version 1's stores, as they were (not today's list).
    for (const ns of ['messages', 'results', 'chords', 'locks', 'revoked', 'meta']) {
      const store = db.createObjectStore(ns)
      if (ns === 'messages') store.createIndex('ready', ['queue', 'priority', 'seq'])
    }
  })
  await new Promise<void>((resolve) => {
    const tx = v1.transaction('messages', 'readwrite')
    tx.objectStore('messages').put({ id: 'm1', queue: 'default', priority: 0, seq: 1 }, 'm1')
    tx.oncomplete = () => resolve()
  })
  v1.close()
  const storage = indexedDBStorage({ name: 'v1', indexedDB: factory })
  await storage.open()
  expect(await storage.get('messages', 'm1')).toEqual({ id: 'm1', queue: 'default', priority: 0, seq: 1 })
  await storage.close()
  const after = await raw()
  expect(after.transaction('messages', 'readonly').objectStore('messages').indexNames.length).toBe(0)
  after.close()
})

it('bad options are ConfigErrors', () => {
  expect(() => indexedDBStorage({ name: '' })).toThrow(ConfigError)
})

it('two apps on one database: the consumer runs what the producer sends, and the producer reads the result from the notification', async () => {
  const factory = new IDBFactory()
  const clock = virtualClock()
  const consumer = new Celeriac({ name: 'tabs', storage: indexedDBStorage({ name: 'tabs', indexedDB: factory }), clock })
  const producer = new Celeriac({ name: 'tabs', storage: indexedDBStorage({ name: 'tabs', indexedDB: factory }), clock, consume: false })
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
