/**
 * `celeriac` as Node loads it (the `node` export condition): the same surface as `index.ts`,
 * with AsyncLocalStorage injected, so a plain `other.delay()` inside a task is its child.
 */
import { trackRunsAcrossAwaits } from './adapters/node/async-context.js'

trackRunsAcrossAwaits()

export * from './index.js'
