/** `celeriac/node`: the core plus what needs Node: file storage and the worker_threads executor. */
import { trackRunsAcrossAwaits } from './adapters/node/async-context.js'

trackRunsAcrossAwaits()

export * from './index.js'
export { threads } from './adapters/node/threads.js'
export type { ThreadsOptions } from './adapters/node/threads.js'
export { fileStorage } from './storage/file/index.js'
export type { FileStorageOptions, FileSystem, FileStats } from './storage/file/index.js'
