import type { Clock } from '../core/time/clock.js'
import { memoryStorage } from '../storage/memory.js'
import type { Storage } from '../storage/types.js'

/**
 * Options of {@link bullmqBackend}.
 *
 * @example
 * import { setDefaultBackendFactory } from 'bullmq'
 * setDefaultBackendFactory(bullmqBackend({ storage: fileStorage({ dir: './.queues' }), clock: virtualClock() }))
 */
export interface BullmqBackendOptions {
  /**
   * Where jobs live: `memoryStorage()` (the default, one per process) or `fileStorage({ dir })`
   * for jobs that survive a restart. Every backend on the same storage shares its queues.
   */
  storage?: Storage
  /**
   * The clock of delays, backoff, locks, stall checks, rate-limit windows and scheduler
   * iterations; `virtualClock()` from `celeriac/testing` runs them in virtual time. Default: the
   * real clock.
   */
  clock?: Clock
  /** Key prefix of queues whose options set none (BullMQ's default is `bull`). */
  prefix?: string
}

export interface ResolvedOptions {
  storage: Storage
  clock: Clock
  /** The clock is the caller's own (not the real one). */
  virtual: boolean
  prefix: string
}

// Taken at load, so a test that fakes timers (vi.useFakeTimers) does not stop the store's own
// timeouts; the time itself is read from Date.now at each call, as BullMQ's classes read it.
const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout

class HostTimer {
  constructor(readonly id: ReturnType<typeof setTimeout>) {}
}

/** The real clock: `Date.now()` and the host's timers. */
function hostClock(): Clock {
  return {
    now: () => Date.now(),
    setTimer(at, fn) {
      const id = realSetTimeout(fn, Math.max(0, Math.min(at - Date.now(), 2_147_483_647)))
      return new HostTimer(id)
    },
    clearTimer(handle) {
      if (handle instanceof HostTimer) realClearTimeout(handle.id)
    },
  }
}

let defaultStorage: Storage | undefined
const defaultClock = hostClock()

/** Defaults, in one place. */
export function resolveOptions(options: BullmqBackendOptions = {}): ResolvedOptions {
  return {
    storage: options.storage ?? (defaultStorage ??= memoryStorage()),
    clock: options.clock ?? defaultClock,
    virtual: options.clock !== undefined,
    prefix: options.prefix ?? 'bull',
  }
}
