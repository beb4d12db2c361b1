/**
 * How the tests make time pass. Under celeriac (`vitest.setup.ts`) it moves the virtual clock the
 * backend runs on. On Redis it moves `Date` (faked), which BullMQ's classes read for delays and
 * backoff and send to Redis with each call; a Worker blocked on Redis looks at the time again when
 * its blocking read ends, at most 10 s later, so there a test that passes hours takes seconds.
 */
import { afterEach, vi } from 'vitest'
import type { VirtualClock } from '../../src/testing.js'

let clock: VirtualClock | undefined

/** Called by `vitest.setup.ts`: time is now the virtual clock's. */
export function useVirtualClock(virtual: VirtualClock): void {
  clock = virtual
}

afterEach(() => {
  if (clock === undefined) vi.useRealTimers()
})

/** Moves time `ms` forward. */
export async function passTime(ms: number): Promise<void> {
  if (clock !== undefined) {
    await clock.advance(ms)
    // BullMQ's classes answer on later turns of the event loop: give them one.
    await new Promise((resolve) => setTimeout(resolve, 0))
    return
  }
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.now() + ms)
}
