/**
 * `celeriac/browser`: the core for browser apps, with IndexedDB storage (durable, shared by
 * the tabs of an origin). The Web Worker executor lands here with its issue.
 */
export * from './index.js'
export { indexedDBStorage } from './storage/indexeddb.js'
export type { IndexedDBStorageOptions } from './storage/indexeddb.js'
