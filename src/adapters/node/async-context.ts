/** Node knows the running task across awaits: the core's async context is AsyncLocalStorage. */
import { AsyncLocalStorage } from 'node:async_hooks'
import { useAsyncContext } from '../../core/task/current-run.js'

/** Called by every Node entry when it loads (the core cannot import `node:*` itself). */
export function trackRunsAcrossAwaits(): void {
  useAsyncContext(() => new AsyncLocalStorage())
}
