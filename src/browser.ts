/**
 * `celeriac/browser`: the core for browser apps, with IndexedDB storage (durable, shared by
 * the tabs of an origin) and the Web Worker executor (`webWorkers`, with `serveWorker` inside).
 */
export * from './index.js'
export { indexedDBStorage } from './storage/indexeddb.js'
export type { IndexedDBStorageOptions } from './storage/indexeddb.js'
export { webWorkers } from './adapters/browser/web-workers.js'
export type { WebWorkersOptions } from './adapters/browser/web-workers.js'
export { serveWorker } from './adapters/browser/serve-worker.js'
