/** The handle of a lock a task or the app holds in storage (`self.lock`, `app.locks`). */

/**
 * `{ [Symbol.asyncDispose](): PromiseLike<void> }` when the compiler's `lib` knows
 * `Symbol.asyncDispose` (esnext.disposable, or `@types/node`), otherwise nothing: the public
 * types then still compile under an older `lib` (ES2022), only without `await using`.
 */
type AsyncDisposal = SymbolConstructor extends { readonly asyncDispose: infer K extends symbol } ? { [P in K]: () => PromiseLike<void> } : Record<never, never>

/**
 * A lock held in storage (see `app.locks`). `await using lock = ...` releases it at the end of the
 * block where the `lib` has `Symbol.asyncDispose` (esnext.disposable, or `@types/node`).
 *
 * @example
 * app.task('users.sync', { bind: true }, async (self, id: string) => {
 *   const lock = await self.lock(`user:${id}`, { ttl: 30_000, wait: 5_000 })
 *   if (lock === null) return 'busy'
 *   try {
 *     return `synced ${id} under fencing token ${String(lock.token)}`
 *   } finally {
 *     await lock.release()
 *   }
 * })
 */
export interface Lock extends AsyncDisposal {
  readonly key: string
  /** Fencing number: grows with every acquisition of any lock in this storage. */
  readonly token: number
  /** Releases it; false if it was no longer ours (expired and taken). */
  release(): Promise<boolean>
  /** Extends its TTL from now; false if it was no longer ours. */
  extend(ttl: number): Promise<boolean>
}
