/**
 * Tasks of Celery's small rules and of virtual time inside tasks (`celery-rules.test.ts`,
 * `virtual-time.test.ts`). Names start with `rules.`. Loaded in the main thread and in every
 * worker, so everything they report goes through results or logs.
 */
import { Task, chain, signature } from '../../src/index.js'
import type { Celeriac } from '../../src/index.js'

/** The fields of a request a scenario checks, or null when there is none. */
function requestFields(self: Task): Record<string, unknown> | null {
  const r = self.request as Task['request'] | undefined
  if (r === undefined) return null
  return { id: r.id, task: r.task, args: r.args, calledDirectly: r.calledDirectly, isEager: r.isEager, retries: r.retries }
}

/** A base class whose `call` reads the request before and after `super.call` (Celery's `__call__` override). */
class RequestReadingTask extends Task {
  override async call(...args: unknown[]): Promise<unknown> {
    const before = requestFields(this)
    const inner = await super.call(...args)
    return { before, inner }
  }
}

/** What a caught error looks like in a result: its class name, code and message. */
function described(error: unknown): { name: string; code: unknown; message: string } {
  const e = error as { name?: string; code?: unknown; message?: string }
  return { name: e.name ?? typeof error, code: e.code, message: e.message ?? String(error) }
}

export function defineRuleTasks(app: Celeriac) {
  return {
    /** Returns its request's fields (or null without one). */
    rulesRequest: app.task('rules.request', { bind: true }, (self: Task, _marker: string) => requestFields(self)),
    /** A base class reading the request around `super.call`; the body returns its own request's fields. */
    rulesRequestBase: app.task('rules.requestBase', { bind: true, base: RequestReadingTask }, (self: Task, _marker: string) => requestFields(self)),
    /** Asks to be retried, with `exc` when given a message. */
    rulesRetry: app.task('rules.retry', { bind: true }, (self: Task, message: string | null) => {
      throw self.retry(message === null ? {} : { exc: new Error(message) })
    }),
    /** Stores no result (`ignoreResult`); logs that it ran. */
    rulesIgnored: app.task('rules.ignored', { bind: true, ignoreResult: true }, (self: Task, value: number) => {
      self.log.info(`ignored ran ${value}`)
      return value
    }),
    /**
     * Sends `rules.nap(ms)` as its child and waits for it with `get({ timeout })`: the result, or
     * the error it got.
     */
    rulesAwaitChild: app.task('rules.awaitChild', { bind: true }, async (self: Task, ms: number, timeout: number) => {
      const child = await self.send(signature<string>('rules.nap', { args: [ms] }))
      try {
        return { value: await child.get({ timeout }) }
      } catch (error) {
        return { error: described(error) }
      }
    }),
    /**
     * Not bound: sends `rules.nap(ms)` with a plain `signature(...).delay()` and waits on it with
     * `app.AsyncResult(id).get({ timeout })`; no `self` anywhere (the task context places both).
     */
    rulesAwaitChildPlain: app.task('rules.awaitChildPlain', async (ms: number, timeout: number) => {
      const child = await signature<string>('rules.nap', { args: [ms] }).delay()
      try {
        return { value: await app.AsyncResult(child.id).get({ timeout }) }
      } catch (error) {
        return { error: described(error) }
      }
    }),
    /** With a soft time limit of 500 ms, waits (no timeout) for a child napping `ms`: the error it got. */
    rulesAwaitLimited: app.task('rules.awaitLimited', { bind: true, softTimeLimit: 500 }, async (self: Task, ms: number) => {
      const child = await self.send(signature<string>('rules.nap', { args: [ms] }))
      try {
        return { value: await child.get() }
      } catch (error) {
        return { error: described(error) }
      }
    }),
    /** Waits for any id's result with `self.AsyncResult(id).get({ timeout })`. */
    rulesAwaitId: app.task('rules.awaitId', { bind: true }, async (self: Task, id: string, timeout: number) => {
      try {
        return { value: await self.AsyncResult(id).get({ timeout }) }
      } catch (error) {
        return { error: described(error) }
      }
    }),
    /**
     * Sends `ops.steps(n)` and follows its progress from inside the task; with `stopAfter`, stops
     * following after that many updates. Returns the states and percents it saw.
     */
    rulesFollow: app.task('rules.follow', { bind: true }, async (self: Task, n: number, stopAfter: number | null) => {
      const child = await self.send(signature<number>('ops.steps', { args: [n] }))
      const seen: string[] = []
      for await (const update of child.progress()) {
        const meta = update.info as { percent?: number } | null
        seen.push(meta !== null && typeof meta === 'object' && meta.percent !== undefined ? `${update.state} ${meta.percent}` : update.state)
        if (stopAfter !== null && seen.length >= stopAfter) break
      }
      return seen
    }),
    /** Sends `rules.nap(ms)` with a countdown, revokes it through its handle; returns its id. */
    rulesRevokeChild: app.task('rules.revokeChild', { bind: true }, async (self: Task, countdown: number) => {
      const child = await self.send(signature<string>('rules.nap', { args: [0], options: { countdown } }))
      await child.revoke()
      return child.id
    }),
    /** Runs a chain as its child, waits for it, then forgets it (every step); returns the ids. */
    rulesForgetChild: app.task('rules.forgetChild', { bind: true }, async (self: Task) => {
      const steps = await self.send(chain(signature<number>('wf.add', { args: [1, 1] }), signature<number>('wf.add', { args: [2] })))
      const value = await steps.get()
      await steps.forget()
      return { value, ids: [steps.id, steps.parent!.id] }
    }),
    /** Sleeps `ms` on the clock, then returns when it woke. */
    rulesNap: app.task('rules.nap', { bind: true }, async (self: Task, ms: number) => {
      await self.sleep(ms)
      return `slept ${ms}`
    }),
    /** Calls `self.sleep(value)` and returns the error it got (or 'slept'). */
    rulesBadSleep: app.task('rules.badSleep', { bind: true }, async (self: Task, value: unknown) => {
      try {
        await self.sleep(value as number)
        return 'slept'
      } catch (error) {
        return described(error)
      }
    }),
  }
}
