/** `celeriac/node`: the core plus what needs Node: file storage, the worker_threads executor, shutdown on signals, the control endpoint. */
import { trackRunsAcrossAwaits } from './adapters/node/async-context.js'

trackRunsAcrossAwaits()

export * from './index.js'
export { shutdownOnSignals } from './adapters/node/shutdown.js'
export type { ShutdownOptions } from './adapters/node/shutdown.js'
export { serve } from './serve/serve.js'
export type { ServeHandle, ServeOptions, ServeStats } from './serve/serve.js'
export { threads } from './adapters/node/threads.js'
export type { ThreadsOptions } from './adapters/node/threads.js'
export { fileStorage } from './storage/file/index.js'
export type { FileStorageOptions, FileSystem, FileStats } from './storage/file/index.js'
