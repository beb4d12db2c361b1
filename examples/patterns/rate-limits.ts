/**
 * Seed: "Rate Limiting" — task-level limits ('10/m', '100/h', '1/s': evenly spaced, as Celery's
 * token bucket of capacity 1) and the dynamic pattern: the API says when to come back.
 */
import { Celeriac, registerErrorClass } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

export class RateLimitError extends Error {
  // The name as a literal on the prototype: it survives a minifier, and a worker's error finds this class by it.
  static {
    RateLimitError.prototype.name = 'RateLimitError'
  }
  constructor(readonly retryAfter: number | null) {
    super('429 Too Many Requests')
  }
}
registerErrorClass(RateLimitError)

export async function run() {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const start = clock.now()
  const ranAt = new Map<string, number[]>()
  const note = (name: string): void => {
    ranAt.set(name, [...(ranAt.get(name) ?? []), (clock.now() - start) / 1000])
  }

  const rateLimitedTask = app.task('api.per_minute', { rateLimit: '10/m' }, () => note('10/m'))
  const hourlyLimitedTask = app.task('api.per_hour', { rateLimit: '100/h' }, () => note('100/h'))
  const slowTask = app.task('api.per_second', { rateLimit: '1/s' }, () => note('1/s'))

  let calls = 0
  const callApi = (endpoint: string): string => {
    calls++
    if (calls === 1) throw new RateLimitError(30_000)
    return `200 OK from ${endpoint}`
  }
  const apiCallTask = app.task('api.call', { bind: true, maxRetries: 5 }, (self, endpoint: string) => {
    try {
      return callApi(endpoint)
    } catch (exc) {
      if (!(exc instanceof RateLimitError)) throw exc
      // Back off and retry when the server says.
      throw self.retry({ exc, countdown: exc.retryAfter ?? 60_000 })
    }
  })

  await app.start()
  for (let i = 0; i < 3; i++) {
    await rateLimitedTask.delay()
    await hourlyLimitedTask.delay()
    await slowTask.delay()
  }
  const api = await apiCallTask.delay('/v1/things')
  await clock.runAll()
  const outcome = { secondsOfEachRun: Object.fromEntries(ranAt), api: await api.get(), apiCalls: calls }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
