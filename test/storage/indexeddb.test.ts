/**
 * IndexedDB storage on fake-indexeddb in Node: the storage contract and the storage's own cases
 * (`indexeddb-cases.ts`); `indexeddb.browser.ts` runs both on Chromium's real IndexedDB.
 */
// Installs IDBRequest, IDBKeyRange and the rest as globals, as a browser has them (idb needs them).
import 'fake-indexeddb/auto'
import { IDBDatabase, IDBFactory } from 'fake-indexeddb'
import type { Storage } from '../../src/index.js'
import { indexedDBStorage } from '../../src/browser.js'
import { storageContract } from './contract.js'
import { indexedDBCases } from './indexeddb-cases.js'

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

indexedDBCases({ factory: () => new IDBFactory(), database: IDBDatabase })
