/**
 * The service's tests, as they were written for Redis. `vitest.config.ts` adds `vitest.setup.ts`
 * and they run on celeriac in virtual time; without it they run on the Redis at 127.0.0.1:6379.
 */
import { once } from 'node:events'
import { Queue, QueueEvents } from 'bullmq'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { type Dependencies, HOUR, MINUTE, type Service, startService } from './service.js'
import { passTime } from './time.js'

const connection = { host: '127.0.0.1', port: 6379 }
// Each test has keys of its own, so tests never meet on a shared Redis.
let prefix: string
beforeEach(() => {
  prefix = `example-${String(process.pid)}-${Math.random().toString(36).slice(2, 10)}`
})

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function start(deps: Partial<Dependencies> = {}): Promise<Service> {
  const service = await startService(
    {
      sendMail: async () => {},
      renderPage: async ({ page }) => `page ${String(page)}`,
      ...deps,
    },
    { connection, prefix },
  )
  const keys = prefix
  cleanups.push(async () => {
    await service.close()
    for (const name of ['mail', 'pages', 'reports']) {
      const queue = new Queue(name, { connection, prefix: keys })
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })
  return service
}

it('mails a reminder an hour later, retrying a refused mail after 1, 2 and 4 minutes', async () => {
  let calls = 0
  const service = await start({
    async sendMail() {
      if (++calls <= 3) throw new Error('421 try again later')
    },
  })
  const job = await service.remindLater({ to: 'ada@example.com', text: 'Your trial ends tomorrow' })
  expect(await job.getState()).toBe('delayed')

  // Each wait: a second before its end nothing has run; at its end the next attempt runs.
  for (const [tried, wait] of [HOUR, MINUTE, 2 * MINUTE, 4 * MINUTE].entries()) {
    const attempt = once(service.workers.mail, tried < 3 ? 'failed' : 'completed')
    await passTime(wait - 1_000)
    expect(calls).toBe(tried)
    await passTime(1_000)
    await attempt
  }

  const done = await service.mail.getJob(job.id!)
  expect(await done?.getState()).toBe('completed')
  expect(done?.attemptsMade).toBe(4)
  expect(calls).toBe(4)
})

it('builds a report once every page of it is rendered', async () => {
  const service = await start()
  const events = new QueueEvents('reports', { connection, prefix })
  cleanups.push(() => events.close())
  await events.waitUntilReady()

  const flow = await service.buildReport('weekly', 'Weekly report', 3)
  expect(await flow.job.waitUntilFinished(events)).toBe('# Weekly report\npage 1\npage 2\npage 3')

  const pages = await Promise.all(flow.children!.map((child) => child.job.getState()))
  expect(pages).toEqual(['completed', 'completed', 'completed'])
})
