/**
 * `celeriac/browser`: the core for browser apps. IndexedDB storage and the Web Worker executor
 * land here with their issue; until then this entry is the core (memory storage, inline).
 */
export * from './index.js'
