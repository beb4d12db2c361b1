/** The storage contract on Chromium's real IndexedDB (the `chromium` vitest project runs this file). */
import { indexedDBStorage } from '../../src/browser.js'
import type { Storage } from '../../src/browser.js'
import { storageContract } from './contract.js'

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
