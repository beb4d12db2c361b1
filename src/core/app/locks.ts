/**
 * Locks in storage: a TTL (engine clock), an owner token so only the holder releases or extends,
 * and a fencing number that grows with every acquisition, so a resource can reject a stale holder.
 */
import type { Clock, TimerHandle } from '../time/clock.js'
import { ConfigError, TimeoutError } from '../model/errors.js'
import type { RpcCall } from '../model/protocol.js'
import type { Lock } from '../task/task.js'
import { checkDuration, checkName } from '../model/validate.js'
import type { Storage } from '../../storage/types.js'

interface LockRecord {
  owner: string
  token: number
  expiresAt: number
}

const FENCE = 'lock-fence'

/**
 * Options of `app.locks.acquire`.
 *
 * @example
 * const lock = await app.locks.acquire('report:2026-11', { ttl: 60_000, wait: 5_000 })
 */
export interface AcquireOptions {
  /** How long the lock is held unless released or extended, ms (> 0). */
  ttl: number
  /** How long to wait for a held lock, ms (engine clock). @default 0: do not wait */
  wait?: number
}

/**
 * The app's locks (`app.locks`).
 *
 * @example
 * const lock = await app.locks.acquire('nightly-import', { ttl: 60_000 })
 * if (lock !== null) {
 *   try { await (await app.sendTask('feeds.import')).get() } finally { await lock.release() }
 * }
 */
export class Locks {
  readonly #storage: () => Storage
  readonly #clock: () => Clock
  readonly #newId: () => string
  /** Counts a storage call as engine work while it is in flight (the virtual clock waits for it). */
  readonly #hold: <T>(work: Promise<T>) => Promise<T>
  readonly #waiters = new Map<string, Set<() => void>>()

  /** @internal */
  constructor(storage: () => Storage, clock: () => Clock, newId: () => string, hold: <T>(work: Promise<T>) => Promise<T> = (work) => work) {
    this.#storage = storage
    this.#clock = clock
    this.#newId = newId
    this.#hold = hold
  }

  /**
   * Takes the lock at `key`, or resolves null if someone holds it (after waiting up to `wait` ms).
   *
   * @example
   * async function buildReport(id: string): Promise<string> {
   *   await using lock = await app.locks.acquire(`report:${id}`, { ttl: 60_000 })
   *   if (lock === null) return 'someone else is on it'
   *   return `report ${id}, built under lock ${lock.key}`
   * }
   */
  async acquire(key: string, options: AcquireOptions): Promise<Lock | null> {
    return this.#acquire(key, options, undefined)
  }

  /** `park(true)` while waiting on the clock for a held lock, `park(false)` when done waiting. */
  async #acquire(key: string, options: AcquireOptions, park: ((waiting: boolean) => void) | undefined): Promise<Lock | null> {
    checkName(key, 'locks.acquire(key)')
    if (options === null || typeof options !== 'object') throw new ConfigError('locks.acquire(key, { ttl }) needs options with a ttl in ms')
    const ttl = checkDuration(options.ttl, 'locks.acquire: ttl', true)
    const wait = options.wait === undefined ? 0 : checkDuration(options.wait, 'locks.acquire: wait')
    const clock = this.#clock()
    const deadline = clock.now() + wait
    for (;;) {
      const attempt = await this.#tryAcquire(key, ttl)
      if (attempt.lock !== null) return attempt.lock
      const now = clock.now()
      if (now >= deadline) return null
      park?.(true)
      try {
        await this.#waitFree(key, Math.min(deadline, attempt.expiresAt))
      } finally {
        park?.(false)
      }
    }
  }

  /**
   * Runs `fn` holding the lock; rejects with TimeoutError if it cannot be had within `wait`.
   *
   * @example
   * await app.locks.withLock('nightly-report', { ttl: 600_000 }, async (lock) => console.log(`building, fencing token ${String(lock.token)}`))
   */
  async withLock<T>(key: string, options: AcquireOptions, fn: (lock: Lock) => T | Promise<T>): Promise<T> {
    const lock = await this.acquire(key, options)
    if (lock === null) throw new TimeoutError(`Lock '${key}' is held by someone else`)
    try {
      return await fn(lock)
    } finally {
      await lock.release()
    }
  }

  /** @internal Releases if `owner` holds the lock with `token`. */
  async release(key: string, token: number, owner: string): Promise<boolean> {
    const now = this.#clock().now()
    const released = await this.#hold(
      this.#storage().transact([{ ns: 'locks', key }], ([value]) => {
        const current = value as LockRecord | undefined
        if (current === undefined || current.owner !== owner || current.token !== token || current.expiresAt <= now) {
          return { mutations: [], result: false }
        }
        return { mutations: [{ op: 'delete', ns: 'locks', key }], result: true }
      }),
    )
    if (released) this.#wake(key)
    return released
  }

  /** @internal Extends if `owner` still holds the lock with `token`. */
  async extend(key: string, token: number, owner: string, ttl: number): Promise<boolean> {
    checkDuration(ttl, 'lock.extend(ttl)', true)
    const now = this.#clock().now()
    return this.#hold(
      this.#storage().transact([{ ns: 'locks', key }], ([value]) => {
        const current = value as LockRecord | undefined
        if (current === undefined || current.owner !== owner || current.token !== token || current.expiresAt <= now) {
          return { mutations: [], result: false }
        }
        const next: LockRecord = { ...current, expiresAt: now + ttl }
        return { mutations: [{ op: 'put', ns: 'locks', key, value: next }], result: true }
      }),
    )
  }

  /**
   * @internal Acquire for a task over the executor protocol: returns the grant as data. `park`
   * tells the engine when the task waits on the clock (a held lock), as `self.sleep` does.
   */
  async grant(key: string, ttl: number, wait: number | null, park?: (waiting: boolean) => void): Promise<{ token: number; owner: string } | null> {
    const lock = (await this.#acquire(key, wait === null ? { ttl } : { ttl, wait }, park)) as (Lock & { owner?: string }) | null
    return lock === null ? null : { token: lock.token, owner: lock.owner! }
  }

  async #tryAcquire(key: string, ttl: number): Promise<{ lock: Lock | null; expiresAt: number }> {
    const now = this.#clock().now()
    const owner = this.#newId()
    const outcome = await this.#hold(
      this.#storage().transact(
        [
          { ns: 'locks', key },
          { ns: 'meta', key: FENCE },
        ],
        ([value, fence]) => {
          const current = value as LockRecord | undefined
          if (current !== undefined && current.expiresAt > now) return { mutations: [], result: { token: 0, expiresAt: current.expiresAt } }
          const token = (typeof fence === 'number' ? fence : 0) + 1
          const record: LockRecord = { owner, token, expiresAt: now + ttl }
          return {
            mutations: [
              { op: 'put', ns: 'locks', key, value: record },
              { op: 'put', ns: 'meta', key: FENCE, value: token },
            ],
            result: { token, expiresAt: record.expiresAt },
          }
        },
      ),
    )
    if (outcome.token === 0) return { lock: null, expiresAt: outcome.expiresAt }
    return { lock: this.#handle(key, outcome.token, owner), expiresAt: outcome.expiresAt }
  }

  #handle(key: string, token: number, owner: string): Lock & { owner: string } {
    const release = (): Promise<boolean> => this.release(key, token, owner)
    return {
      key,
      token,
      owner,
      release,
      extend: (ttl: number) => this.extend(key, token, owner, ttl),
      [Symbol.asyncDispose]: async () => {
        await release()
      },
    }
  }

  #waitFree(key: string, until: number): Promise<void> {
    const clock = this.#clock()
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined
      const done = (): void => {
        this.#waiters.get(key)?.delete(done)
        if (timer !== undefined) clock.clearTimer(timer)
        resolve()
      }
      let set = this.#waiters.get(key)
      if (set === undefined) this.#waiters.set(key, (set = new Set()))
      set.add(done)
      timer = clock.setTimer(until, done)
    })
  }

  #wake(key: string): void {
    const set = this.#waiters.get(key)
    if (set === undefined) return
    this.#waiters.delete(key)
    for (const resolve of set) resolve()
  }
}

/**
 * The calls of a running task that the app answers (the engine answers sends, sleeps and result
 * reads): its locks, over the executor protocol. `park` as in `Locks.grant`.
 */
export async function answerTaskCall(locks: Locks, call: RpcCall, park: (waiting: boolean) => void): Promise<unknown> {
  switch (call.type) {
    case 'lock.acquire':
      return locks.grant(call.key, call.ttl, call.wait, park)
    case 'lock.release':
      return locks.release(call.key, call.token, call.owner)
    case 'lock.extend':
      return locks.extend(call.key, call.token, call.owner, call.ttl)
    default:
      throw new ConfigError(`Unsupported call '${call.type}' from a task`)
  }
}
