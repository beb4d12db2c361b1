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
  /** Alone (no Web Locks): the start of leading, at once; `start()` waits for it. */
  readonly alone: Promise<void> | undefined
}
/**
 * Waits for the lock `name`, calls `lead` once it holds it, and holds it until the returned
 * leadership is given up ({@link resign}). Alone (no Web Locks), leads at once.
 * If `lead` fails (the executor cannot start), the lock is given up at once for another tab,
 * and `failed` is told.
 */
export function seekLeadership(name: string, lead: () => Promise<void>, failed: (error: unknown) => void): Leadership {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks
  const become = (): Promise<void> => {
    leadership.leading = true
    return lead().catch((error: unknown) => {
      leadership.leading = false
      throw error
    })
  }
  const leadership: Leadership = { leading: false, abort: new AbortController(), release: undefined, alone: undefined }
  if (locks === undefined) {
    // Alone: no tabs to share with.
    return Object.assign(leadership, { alone: become() })
  }
  locks
    .request(name, { signal: leadership.abort.signal }, () => {
      if (leadership.abort.signal.aborted) return undefined
      // Held until this app stops (or the tab goes away, which frees it for the next tab), or
      // given up at once if this tab cannot consume, so that another can.
      const held = new Promise<void>((release) => (leadership.release = release))
      become().catch((error: unknown) => {
        leadership.release?.()
        failed(error)
      })
      return held
    })
    .catch(() => undefined) // Aborted by stop() before being elected.
  return leadership
}

/** Gives the lead up (or stops seeking it): the next tab may lead. */
export function resign(leadership: Leadership | undefined): void {
  leadership?.abort.abort()
  leadership?.release?.()
}
