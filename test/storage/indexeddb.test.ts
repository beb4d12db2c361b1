/** IndexedDB storage on fake-indexeddb in Node (the same suite runs in Chromium with the browser issue). */
// Installs IDBRequest, IDBKeyRange and the rest as globals, as a browser has them (idb needs them).
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { expect, it } from 'vitest'
import { ConfigError } from '../../src/index.js'
import type { Storage, StorageChange } from '../../src/index.js'
import { indexedDBStorage } from '../../src/browser.js'
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
  const heard: StorageChange[] = []
  const stop = b.watch!((changes) => heard.push(...changes))
  await a.write([{ op: 'put', ns: 'results', key: 'r1', value: { state: 'SUCCESS' } }])
  expect(await b.get('results', 'r1')).toEqual({ state: 'SUCCESS' })
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(heard).toEqual([{ ns: 'results', key: 'r1' }])
  stop()
  await a.close()
  await b.close()
})

it('many calls in one tick share one transaction and all land', async () => {
  const storage = indexedDBStorage({ name: 'batch', indexedDB: new IDBFactory() })
  await storage.open()
  await Promise.all(Array.from({ length: 500 }, (_, i) => storage.write([{ op: 'put', ns: 'messages', key: `m${i}`, value: { queue: 'default', priority: 0, seq: i } }])))
  expect(await storage.entries('messages')).toHaveLength(500)
  await storage.close()
})

it('bad options are ConfigErrors', () => {
  expect(() => indexedDBStorage({ name: '' })).toThrow(ConfigError)
})
