/**
 * Leader election among the tabs of an origin (`consume: 'leader'`), with the Web Locks API: one
 * app of a name consumes at a time; when its tab closes, the lock passes to the next.
 */

/** The part of the Web Locks API the leader election uses. */
interface WebLocks {
  request(name: string, options: { signal: AbortSignal }, callback: () => Promise<void> | undefined): Promise<unknown>
}

export interface Leadership {
  leading: boolean
  readonly abort: AbortController
  release: (() => void) | undefined
}
/**
 * Waits for the lock `name`, calls `lead` once it holds it, and holds it until the returned
 * leadership is aborted (`abort.abort()`, then `release?.()`). Alone (no Web Locks), leads at once.
 */
export function seekLeadership(name: string, lead: () => void): Leadership {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks
  const leadership: Leadership = { leading: false, abort: new AbortController(), release: undefined }
  const become = (): void => {
    leadership.leading = true
    lead()
  }
  if (locks === undefined) {
    become() // Alone: no tabs to share with.
    return leadership
  }
  locks
    .request(name, { signal: leadership.abort.signal }, () => {
      if (leadership.abort.signal.aborted) return undefined
      become()
      // Held until this app stops (or the tab goes away, which frees it for the next tab).
      return new Promise<void>((release) => (leadership.release = release))
    })
    .catch(() => undefined) // Aborted by stop() before being elected.
  return leadership
}
