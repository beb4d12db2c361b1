/**
 * A plain task's body gets the message's own arguments array when nothing in it needs decoding
 * (tracer.ts, bodyArgs): what a failure's `self` exposes (`request.args`, the hooks' `args`)
 * must still be a copy, so that a change made there never reaches the message a retry sends.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, Task, memoryStorage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'

class Flaky extends Error {}

/** Changes the arguments it is given, and the request's, before the retry is sent. */
class MutatingRetryTask extends Task {
  override onRetry(_exc: unknown, _taskId: string, args: unknown[]): void {
    args.push('from onRetry')
    ;(this.request.args as unknown[])[0] = 'changed'
  }
}

describe('plain task arguments', () => {
  it('a retry runs with the arguments sent, whatever onRetry did to the ones it was given', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ storage: memoryStorage(), clock })
    const seen: unknown[][] = []
    const echo = app.task(
      'args.echo',
      { base: MutatingRetryTask, autoretryFor: [Flaky], retryBackoff: false, maxRetries: 1, defaultRetryDelay: 1_000 },
      (a: number, b: string) => {
        seen.push([a, b])
        if (seen.length === 1) throw new Flaky('once')
        return [a, b]
      },
    )
    await app.start()
    const result = await echo.delay(7, 'x')
    await clock.advance(1_000)
    expect(await result.get({ timeout: 5_000 })).toEqual([7, 'x'])
    expect(seen).toEqual([
      [7, 'x'],
      [7, 'x'],
    ])
    await app.stop()
  })
})
