/**
 * IndexedDB storage on Chromium's real IndexedDB (the `chromium` vitest project runs this file):
 * the storage contract and the storage's own cases (`indexeddb-cases.ts`), which
 * `indexeddb.test.ts` runs on fake-indexeddb in Node.
 */
import { indexedDBStorage } from '../../src/browser.js'
import type { Storage } from '../../src/browser.js'
import { storageContract } from './contract.js'
import { indexedDBCases } from './indexeddb-cases.js'

const names = new WeakMap<Storage, string>()

storageContract(
  'indexeddb (Chromium)',
  () => {
    const name = `contract-${crypto.randomUUID()}`
    const storage = indexedDBStorage({ name })
    names.set(storage, name)
    return storage
  },
  { reopen: (storage) => indexedDBStorage({ name: names.get(storage)! }) },
)

indexedDBCases({ factory: () => indexedDB, database: IDBDatabase })
