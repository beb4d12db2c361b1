/**
 * In Chromium (the `chromium` vitest project runs this file): an early-ack run waits in its Web
 * Worker until its lease (its ack) is stored in IndexedDB, so a tab that dies never runs it
 * twice; worker_threads on file storage: test/storage/redelivery.test.ts.
 *
 * No timing: the early-ack run goes to the idle worker first and an acksLate run follows it
 * there once the worker says the first started; the early run's lease is kept from settling
 * until the acksLate body has logged. A worker that began the early body at once would have
 * logged it before it was sent the acksLate run; one that waits can run it only after.
 */
import { expect, it } from 'vitest'
import { Celeriac, group, indexedDBStorage, webWorkers } from '../../src/browser.js'
import { virtualClock } from '../../src/testing.js'
import { holdEarlyLease } from './fixtures/held-lease.js'
import { defineLeaseTasks } from './fixtures/lease-tasks.js'

it('an early-ack run waits in its Web Worker until its lease (its ack) is stored', async () => {
  const order: string[] = []
  let lateLogged!: () => void
  const logged = new Promise<void>((resolve) => (lateLogged = resolve))
  const db = indexedDBStorage({ name: `lease-first-${crypto.randomUUID()}` })
  const storage = holdEarlyLease(db, logged, order)
  const clock = virtualClock()
  const app = new Celeriac({
    name: 'lease-first',
    storage,
    // Two runs at once in the one worker: the acksLate run is not held behind the early one.
    executor: webWorkers({ url: new URL('./fixtures/lease-worker.browser.ts', import.meta.url), size: 1, tasksPerWorker: 2 }),
    clock,
  })
  const tasks = defineLeaseTasks(app)
  app.events.on('log', (e) => {
    order.push(e.text)
    if (e.text === 'body: late') lateLogged()
  })
  await app.start()
  try {
    // In one write, so that both leave in one batch: a run leaves only once the writes before
    // it are stored, and the early run's lease will not be until the acksLate body has logged.
    const both = await group([tasks.early.s(), tasks.late.s()]).delay()
    await clock.runAll()
    expect(await both.get()).toEqual(['early', 'late'])
    expect(order).toEqual(['body: late', 'lease stored', 'body: early'])
  } finally {
    await app.stop()
  }
})
