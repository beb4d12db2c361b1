/**
 * Tasks of the ops scenarios (locks, rate limits, revocation, time limits, progress, events,
 * inspect). Names start with `ops.`. Loaded in the main thread and in every worker, so what they
 * do is reported only through results, states, events and `self.log` lines.
 */
import { Reject, SoftTimeLimitExceeded, Task, registerErrorClass } from '../../src/index.js'
import type { Celeriac, State } from '../../src/index.js'

/** What a rate-limited HTTP API throws: the server's Retry-After, in ms. */
export class ApiRateLimitError extends Error {
  override name = 'ApiRateLimitError'
  constructor(readonly retryAfter: number) {
    super(`429 Too Many Requests: retry after ${retryAfter} ms`)
  }
}
registerErrorClass(ApiRateLimitError)

/** A transient error a task retries on. */
export class FlakyUpstream extends Error {
  override name = 'FlakyUpstream'
}
registerErrorClass(FlakyUpstream)

/** Logs the hooks that run after a task (Celery's on_success, on_failure, after_return). */
class HookLoggingTask extends Task {
  override onSuccess(): void {
    this.log.info('onSuccess')
  }
  override onFailure(): void {
    this.log.info('onFailure')
  }
  override afterReturn(state: State): void {
    this.log.info(`afterReturn ${state}`)
  }
}

/** Its afterReturn hook sleeps on the engine's clock before it logs (a hook may wait as a body does). */
class SleepingHooksTask extends Task {
  override async afterReturn(state: State): Promise<void> {
    await this.sleep(500)
    this.log.info(`afterReturn ${state}, 500 ms later`)
  }
}

/**
 * Stores no result (ignoreResult): once its outcome is in, a send of its id is a new message. The
 * first run's afterReturn sends its own id again, so that send comes while these hooks still run.
 */
class ResendingHooksTask extends Task<[string], string> {
  override async afterReturn(_state: State, retval: unknown, taskId: string): Promise<void> {
    if (retval === 'first') await this.applyAsync(['second'], { taskId })
    this.log.info(`hooks after ${String(retval)}`)
  }
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error)

export function defineOpsTasks(app: Celeriac) {
  return {
    opsEcho: app.task('ops.echo', (value: unknown) => value),

    // ---- locks ---------------------------------------------------------------------------

    /** The seed's deduplicated task, declared: one run per resource at a time, others skip. */
    opsDedup: app.task(
      'ops.dedup',
      { bind: true, lock: { key: (resource: string) => `res:${resource}`, ttl: 60_000, onLocked: 'skip' } },
      async (self: Task, _resource: string, label: string, ms: number) => {
        self.log.info(`start ${label}`)
        await self.sleep(ms)
        self.log.info(`end ${label}`)
        return label
      },
    ),
    /** The same, but a run that finds the lock held retries (after defaultRetryDelay) instead. */
    opsDedupRetry: app.task(
      'ops.dedupRetry',
      { bind: true, lock: { key: (resource: string) => `res:${resource}`, ttl: 60_000, onLocked: 'retry' }, defaultRetryDelay: 1_000, maxRetries: 10 },
      async (self: Task, _resource: string, label: string, ms: number) => {
        self.log.info(`start ${label} try ${self.request.retries}`)
        await self.sleep(ms)
        self.log.info(`end ${label}`)
        return label
      },
    ),
    /** A lock option whose TTL (1 s) is shorter than the run: the lock expires while it runs. */
    opsShortLock: app.task(
      'ops.shortLock',
      { bind: true, lock: { key: (resource: string) => `short:${resource}`, ttl: 1_000 } },
      async (self: Task, _resource: string, label: string, ms: number) => {
        self.log.info(`start ${label}`)
        await self.sleep(ms)
        self.log.info(`end ${label}`)
        return label
      },
    ),
    /** Takes a lock by hand (self.lock), holds it `ms`, releases it; reports token and release. */
    opsHoldLock: app.task('ops.holdLock', { bind: true }, async (self: Task, key: string, label: string, ttl: number, ms: number) => {
      const lock = await self.lock(key, { ttl })
      if (lock === null) {
        self.log.info(`${label} busy`)
        return null
      }
      self.log.info(`${label} got ${key}`)
      await self.sleep(ms)
      const released = await lock.release()
      self.log.info(`${label} released ${String(released)}`)
      return { token: lock.token, released }
    }),
    /** Waits up to `wait` ms for a lock held elsewhere (self.lock with wait). */
    opsWaitLock: app.task('ops.waitLock', { bind: true }, async (self: Task, key: string, wait: number) => {
      const lock = await self.lock(key, { ttl: 10_000, wait })
      if (lock === null) return null
      await lock.release()
      return lock.token
    }),
    /** Asks for a lock with a bad TTL from inside a task. */
    opsBadLockTtl: app.task('ops.badLockTtl', { bind: true }, async (self: Task, ttl: number) => {
      await self.lock('bad-ttl', { ttl })
      return 'unreachable'
    }),

    // ---- rate limits ---------------------------------------------------------------------

    /** Six a minute: one every 10 s (Celery's token bucket has capacity 1: no burst). */
    opsLimited: app.task('ops.limited', { bind: true, rateLimit: '6/m' }, (self: Task, n: number) => {
      self.log.info(`limited ${n}`)
      return n
    }),
    /** No limit: must never wait behind a limited task. */
    opsFree: app.task('ops.free', { bind: true }, (self: Task, label: string) => {
      self.log.info(`free ${label}`)
      return label
    }),
    /** The seed's dynamic rate limit: the API says when to come back; the task retries then. */
    opsCallApi: app.task('ops.callApi', { bind: true, maxRetries: 5 }, (self: Task, retryAfter: number, failures: number) => {
      try {
        if (self.request.retries < failures) throw new ApiRateLimitError(retryAfter)
        self.log.info(`called on try ${self.request.retries}`)
        return `called on try ${self.request.retries}`
      } catch (error) {
        if (error instanceof ApiRateLimitError) throw self.retry({ countdown: error.retryAfter, exc: error })
        throw error
      }
    }),

    // ---- revocation and time limits -------------------------------------------------------

    /** Sleeps `steps` seconds in 1 s steps; when its signal aborts, logs why and rethrows. */
    opsCooperative: app.task('ops.cooperative', { bind: true }, async (self: Task, label: string, steps: number) => {
      self.log.info(`${label} working`)
      try {
        for (let i = 0; i < steps; i++) await self.sleep(1_000)
      } catch (error) {
        const reason: unknown = self.signal.reason
        self.log.info(`${label} aborted by ${errorName(error)}; isAborted ${String(self.isAborted())}; signal ${errorName(reason)}`)
        throw error
      }
      self.log.info(`${label} finished; isAborted ${String(self.isAborted())}`)
      return `${label} done`
    }),
    /** Waits on its signal alone (no clock): only an abort ends it. */
    opsSignalWaiter: app.task('ops.signalWaiter', { bind: true }, async (self: Task) => {
      self.log.info('waiting on signal')
      const reason = await new Promise<unknown>((resolve) => self.signal.addEventListener('abort', () => resolve(self.signal.reason), { once: true }))
      self.log.info(`signal aborted: ${errorName(reason)}; isAborted ${String(self.isAborted())}`)
      throw reason
    }),
    /** Retries once (countdown 10 s) after `ms` of work: for revoking a task between attempts. */
    opsRetryLater: app.task('ops.retryLater', { bind: true, maxRetries: 3 }, async (self: Task, ms: number) => {
      self.log.info(`attempt ${self.request.retries}`)
      await self.sleep(ms)
      if (self.request.retries === 0) throw self.retry({ countdown: 10_000 })
      return 'second attempt'
    }),
    /** Soft 2 s, hard 10 s: works in 600 ms steps, catches the soft limit and returns what it has. */
    opsSoftCatch: app.task('ops.softCatch', { bind: true, softTimeLimit: 2_000, timeLimit: 10_000 }, async (self: Task) => {
      let steps = 0
      try {
        for (;;) {
          await self.sleep(600)
          steps++
        }
      } catch (error) {
        if (!(error instanceof SoftTimeLimitExceeded)) throw error
        self.log.info(`soft limit caught: ${error.name} (${error.code}); isAborted ${String(self.isAborted())}`)
        return { partial: steps }
      }
    }),
    /** Ignores every abort and sleeps on, 100 ms at a time, for `ms`; logs each abort it shrugs off. */
    opsStubborn: app.task('ops.stubborn', { bind: true }, async (self: Task, ms: number) => {
      let ignored = 0
      for (let slept = 0; slept < ms; slept += 100) {
        try {
          await self.sleep(100)
        } catch (error) {
          if (ignored++ === 0) self.log.info(`ignored ${errorName(error)}`)
        }
      }
      return 'finished'
    }),
    /** A hard limit of 3 s as a task option; ignores its signal. */
    opsHardLimited: app.task('ops.hardLimited', { bind: true, timeLimit: 3_000 }, async (self: Task, ms: number) => {
      for (let slept = 0; slept < ms; slept += 100) {
        try {
          await self.sleep(100)
        } catch {
          // keeps going: only the hard limit ends it
        }
      }
      return 'finished'
    }),
    /** Sleeps `ms` on the clock and returns it. */
    opsNapper: app.task('ops.napper', { bind: true }, async (self: Task, ms: number) => {
      await self.sleep(ms)
      return ms
    }),

    // ---- progress --------------------------------------------------------------------------

    /** Reports progress 1..n, one step per 100 ms of clock time, with an extra field. */
    opsSteps: app.task('ops.steps', { bind: true }, async (self: Task, n: number) => {
      for (let i = 1; i <= n; i++) {
        await self.sleep(100)
        self.progress(i, n, { step: `step ${i}` })
      }
      return n
    }),
    /** Reports progress 1..n back to back, with no wait in between, then returns. */
    opsBurst: app.task('ops.burst', { bind: true }, (self: Task, n: number) => {
      for (let i = 1; i <= n; i++) self.progress(i, n)
      return `burst ${n}`
    }),
    /** Custom states with meta (Celery's update_state), then a result. */
    opsUpload: app.task('ops.upload', { bind: true }, async (self: Task, file: string) => {
      self.updateState('UPLOADING', { file, bytes: 0, since: new Date(0) })
      await self.sleep(100)
      self.updateState('UPLOADING', { file, bytes: 512, since: new Date(0) })
      await self.sleep(100)
      self.updateState('VERIFYING', { file })
      await self.sleep(100)
      return `uploaded ${file}`
    }),
    /** Progress, then a failure. */
    opsProgressThenFail: app.task('ops.progressThenFail', { bind: true }, async (self: Task) => {
      self.progress(1, 2)
      await self.sleep(100)
      throw new TypeError('broken halfway')
    }),

    // ---- events ----------------------------------------------------------------------------

    /** Works 200 ms, asks to retry in 5 s (with the cause); the second attempt works 300 ms and succeeds. */
    opsRetryOnce: app.task('ops.retryOnce', { bind: true, maxRetries: 3 }, async (self: Task, label: string) => {
      if (self.request.retries === 0) {
        await self.sleep(200)
        throw self.retry({ countdown: 5_000, exc: new FlakyUpstream(`upstream hiccup for ${label}`) })
      }
      await self.sleep(300)
      return `${label} ok`
    }),
    /**
     * Works 100 ms, then rejects its message (Celery's `Reject`), with or without requeue; the
     * redelivered run (requeued) works 100 ms and succeeds.
     */
    opsReject: app.task('ops.reject', { bind: true, base: HookLoggingTask }, async (self: Task, label: string, requeue: boolean) => {
      const { redelivered } = self.request.deliveryInfo
      self.log.info(`${label} runs; redelivered ${String(redelivered)}`)
      await self.sleep(100)
      if (!redelivered) throw new Reject(`${label} does not want this message`, requeue)
      return `${label} done`
    }),
    /** Logs its label and returns it; the run labelled 'first' sends its own id again from its afterReturn. */
    opsResendInHooks: app.task('ops.resend-in-hooks', { base: ResendingHooksTask, bind: true, ignoreResult: true }, (self: Task, label: string) => {
      self.log.info(`body ${label}`)
      return label
    }),
    /** Returns its label at once; its afterReturn hook sleeps 500 ms, then logs. */
    opsSleepyHooks: app.task('ops.sleepy-hooks', { base: SleepingHooksTask }, (label: string) => label),
    /** Works 250 ms, then fails. */
    opsFails: app.task('ops.fails', { bind: true }, async (self: Task) => {
      await self.sleep(250)
      throw new RangeError('out of range')
    }),
  }
}
