/** Tasks of the operational scenarios: locks, rate limits, revocation, time limits, progress. Names start with `op.`. */
import { SoftTimeLimitExceeded, registerErrorClass } from '../../src/index.js'
import type { Celeriac, Task } from '../../src/index.js'

/** What a rate-limited API throws, with the server's Retry-After. */
export class RateLimitError extends Error {
  override name = 'RateLimitError'
  constructor(readonly retryAfter: number) {
    super(`rate limited, retry after ${retryAfter} ms`)
  }
}
registerErrorClass(RateLimitError)

export function defineOperationTasks(app: Celeriac) {
  /** The seed's deduplicated_task, declaratively: one run per order at a time; others skip. */
  const exclusive = app.task(
    'op.exclusive',
    { bind: true, lock: { key: (orderId: string) => `order:${orderId}`, ttl: 10_000, onLocked: 'skip' } },
    async (self: Task, orderId: string, ms: number) => {
      self.log.info(`start ${orderId}`)
      await self.sleep(ms)
      self.log.info(`end ${orderId}`)
      return orderId
    },
  )
  /** The same, but a locked run retries later instead of skipping. */
  const patientLock = app.task(
    'op.patientLock',
    { bind: true, lock: { key: (orderId: string) => `order:${orderId}`, ttl: 10_000, onLocked: 'retry' }, defaultRetryDelay: 1_000, maxRetries: 10 },
    async (self: Task, orderId: string, ms: number) => {
      self.log.info(`start ${orderId}`)
      await self.sleep(ms)
      self.log.info(`end ${orderId}`)
      return orderId
    },
  )
  /** Takes a lock by hand with self.lock, holds it `ms`, reports its fencing token. */
  const manual = app.task('op.manual', { bind: true }, async (self: Task, key: string, ms: number) => {
    const lock = await self.lock(key, { ttl: 5_000 })
    if (lock === null) {
      self.log.info(`busy ${key}`)
      return null
    }
    self.log.info(`got ${key}`)
    await self.sleep(ms)
    const released = await lock.release()
    return { token: lock.token, released }
  })
  const limited = app.task('op.limited', { bind: true, rateLimit: '6/m' }, (self: Task, n: number) => {
    self.log.info(`limited ${n}`)
    return n
  })
  const free = app.task('op.free', { bind: true }, (self: Task, label: string) => {
    self.log.info(`free ${label}`)
    return label
  })
  /** The seed's dynamic rate limit: the API says when to come back; the task retries then. */
  const callApi = app.task('op.callApi', { bind: true, maxRetries: 3 }, (self: Task, retryAfter: number) => {
    try {
      if (self.request.retries === 0) throw new RateLimitError(retryAfter)
      return `called on try ${self.request.retries}`
    } catch (error) {
      if (error instanceof RateLimitError) throw self.retry({ countdown: error.retryAfter, exc: error })
      throw error
    }
  })
  /** Sleeps in steps until its signal is aborted; reports why. */
  const cooperative = app.task('op.cooperative', { bind: true }, async (self: Task, steps: number) => {
    self.log.info('working')
    try {
      for (let i = 0; i < steps; i++) await self.sleep(1_000)
    } catch (error) {
      self.log.info(`aborted: ${(error as Error).name} ${String(self.isAborted())}`)
      throw error
    }
    return 'finished'
  })
  /** Catches its soft time limit and returns a partial result of its own. */
  const softCaught = app.task('op.softCaught', { bind: true, softTimeLimit: 2_000, timeLimit: 10_000 }, async (self: Task) => {
    let done = 0
    try {
      for (;;) {
        await self.sleep(500)
        done++
      }
    } catch (error) {
      if (error instanceof SoftTimeLimitExceeded) return `partial after ${done}`
      throw error
    }
  })
  /** Ignores every abort and sleeps on: only the hard limit ends it. */
  const stubborn = app.task('op.stubborn', { bind: true }, async (self: Task, ms: number) => {
    for (let slept = 0; slept < ms; slept += 100) {
      try {
        await self.sleep(100)
      } catch {
        // keeps going
      }
    }
    return 'finished'
  })
  /** Reports progress 1..n, one step per 100 ms of clock time. */
  const stepped = app.task('op.stepped', { bind: true }, async (self: Task, n: number) => {
    for (let i = 1; i <= n; i++) {
      await self.sleep(100)
      self.progress(i, n)
    }
    return n
  })
  /** A custom state with meta, then a result. */
  const custom = app.task('op.custom', { bind: true }, async (self: Task) => {
    self.updateState('UPLOADING', { file: 'a.csv', bytes: 10 })
    await self.sleep(100)
    return 'uploaded'
  })
  /** Fails once with a retry, then succeeds: for event order. */
  const retryOnce = app.task('op.retryOnce', { bind: true, defaultRetryDelay: 1_000 }, (self: Task) => {
    if (self.request.retries === 0) throw self.retry()
    return 'second time'
  })
  const napper = app.task('op.napper', { bind: true }, async (self: Task, ms: number) => {
    await self.sleep(ms)
    return ms
  })
  return { exclusive, patientLock, manual, limited, free, callApi, cooperative, softCaught, stubborn, stepped, custom, retryOnce, napper }
}
