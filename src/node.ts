/** `celeriac/node`: the core plus what needs Node: the worker_threads executor (file storage lands with its issue). */
export * from './index.js'
export { threads } from './adapters/node/threads.js'
export type { ThreadsOptions } from './adapters/node/threads.js'
