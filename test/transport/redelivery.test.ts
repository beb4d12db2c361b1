/**
 * The engine on a transport when the broker takes a delivery back (a lost lock, a process that
 * died): the run's outcome, stored, decides, as DESIGN §4 says. On the in-memory loopback broker
 * under the virtual clock; the same on Redis is test/transport/multiprocess.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, WorkerLostError, chain, memoryStorage } from '../../src/index.js'
import type { Config, Storage, Task } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { loopbackBroker } from './loopback.js'

const apps: Celeriac[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop()
})

/** An app ("process") on the broker of `store`, with a task that counts its runs. */
async function processOn(store: Storage, runs: string[], config: Config = {}) {
  const clock = virtualClock()
  const app = new Celeriac({ transport: loopbackBroker(store).transport(), clock, ...config })
  const logs: string[] = []
  app.events.on('log', (e) => logs.push(e.text))
  const add = app.task('t.add', { bind: true }, (self: Task, a: number, b: number) => {
    runs.push(self.request.id)
    return a + b
  })
  const late = app.task('t.late', { bind: true, acksLate: true }, async (self: Task) => {
    runs.push(self.request.id)
    await self.sleep(60_000)
    return 'late done'
  })
  const early = app.task('t.early', { bind: true }, async (self: Task) => {
    runs.push(self.request.id)
    await self.sleep(60_000)
    return 'early done'
  })
  /** Early-ack, and its record says a state of its own (not STARTED) once it runs. */
  const holding = app.task('t.holding', { bind: true }, async (self: Task) => {
    runs.push(self.request.id)
    self.updateState('HOLDING', { step: 1 })
    await self.sleep(60_000)
    return 'holding done'
  })
  /** Early-ack; its first run takes a minute, then asks for a retry; the next returns. */
  const slowRetry = app.task('t.slowRetry', { bind: true, maxRetries: 3 }, async (self: Task) => {
    runs.push(self.request.id)
    if (self.request.retries > 0) return 'retried'
    await self.sleep(60_000)
    throw self.retry({ countdown: 1_000 })
  })
  await app.start()
  apps.push(app)
  return { app, clock, logs, add, late, early, holding, slowRetry }
}

type Process = Awaited<ReturnType<typeof processOn>>

/** `first` stops at once (what it runs is left unsettled); a second process on the broker takes over and runs all. */
async function takenOverFrom(first: Process, store: Storage, runs: string[]): Promise<Process> {
  await first.app.stop({ timeout: 0 })
  apps.splice(apps.indexOf(first.app), 1)
  const second = await processOn(store, runs)
  await second.clock.runAll()
  return second
}

describe('redeliveries on a transport', () => {
  it('an ack the broker refuses does not fail the run: its result stands, and when the message comes back it only finishes', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const first = await processOn(store, runs)
    loopbackBroker(store).refuseSettles = 1
    const r = await first.add.delay(2, 3)
    await first.clock.runAll()
    expect(await r.get()).toBe(5)
    expect(first.logs.some((l) => l.includes('refused to settle'))).toBe(true)
    // The process goes away holding the unacked delivery; another takes it back, redelivered.
    await first.app.stop()
    apps.splice(apps.indexOf(first.app), 1)
    const second = await processOn(store, runs)
    await second.clock.runAll()
    expect(loopbackBroker(store).deliveries.filter(([id]) => id === r.id)).toEqual([
      [r.id, false],
      [r.id, true],
    ])
    expect(runs).toEqual([r.id])
    expect(await second.app.AsyncResult(r.id).get()).toBe(5)
  })

  it('a process that stops while an early-ack task runs: taken back, it ends WorkerLostError and never runs again', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const first = await processOn(store, runs)
    const r = await first.early.delay()
    await first.clock.advance(0)
    expect(runs).toEqual([r.id])
    const second = await takenOverFrom(first, store, runs)
    await expect(second.app.AsyncResult(r.id).get()).rejects.toBeInstanceOf(WorkerLostError)
    expect(runs).toEqual([r.id])
  })

  it('an early-ack task whose record holds a custom state when its process stops: taken back, it ends WorkerLostError', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const first = await processOn(store, runs)
    const r = await first.holding.delay()
    await first.clock.advance(0)
    expect(await first.app.AsyncResult(r.id).state()).toBe('HOLDING')
    const second = await takenOverFrom(first, store, runs)
    await expect(second.app.AsyncResult(r.id).get()).rejects.toBeInstanceOf(WorkerLostError)
    expect(runs).toEqual([r.id])
  })

  it('a run taken back while it goes on (its lock expired) and failed as lost elsewhere: its late retry leaves the stored failure alone', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const slow = await processOn(store, runs)
    const r = await slow.slowRetry.delay()
    await slow.clock.advance(0)
    expect(runs).toEqual([r.id])
    // Another process comes up; the broker takes the run back from the slow one and hands it over.
    const other = await processOn(store, runs)
    loopbackBroker(store).stall(r.id)
    await other.clock.runAll()
    await expect(other.app.AsyncResult(r.id).get()).rejects.toBeInstanceOf(WorkerLostError)
    // The slow run goes on and asks for a retry: its broker settle is refused (lost lock), and the
    // failure already stored stands (a RETRY over it would leave the task unfinished for good).
    await slow.clock.advance(60_000)
    await other.clock.runAll()
    expect(slow.logs.some((l) => l.includes(`the run of ${r.id} was taken back by the broker and ended elsewhere`))).toBe(true)
    // Its delivery is settled all the same (refused: taken back), so its consumer's slot is free.
    expect(loopbackBroker(store).busySlots).toBe(0)
    expect(await other.app.AsyncResult(r.id).state()).toBe('FAILURE')
    await expect(other.app.AsyncResult(r.id).get()).rejects.toBeInstanceOf(WorkerLostError)
    expect(runs).toEqual([r.id])
  })

  it('a run taken back while it goes on and handed to its own process again: that process goes on with it, and its retry is kept', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const slow = await processOn(store, runs)
    const r = await slow.slowRetry.delay()
    await slow.clock.advance(0)
    loopbackBroker(store).stall(r.id, 'any')
    expect(loopbackBroker(store).deliveries.filter(([id]) => id === r.id)).toEqual([
      [r.id, false],
      [r.id, true],
    ])
    // Not failed as lost: the run is alive here, and the new delivery is the one it settles.
    await slow.clock.advance(0)
    expect(await slow.app.AsyncResult(r.id).state()).toBe('STARTED')
    await slow.clock.runAll()
    expect(await slow.app.AsyncResult(r.id).get()).toBe('retried')
    expect(runs).toEqual([r.id, r.id])
    // The new delivery is the one settled (the old one's settles are refused): the job is done.
    expect(loopbackBroker(store).jobs.get(r.id)?.state).toBe('finished')
  })

  it('a prefetched message taken back and handed to its own process again is held once, and runs once', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const p = await processOn(store, runs, { queues: { default: { concurrency: 1 } } })
    const busy = await p.early.delay()
    const waiting = await p.add.delay(1, 2)
    await p.clock.advance(0)
    // One slot: `busy` runs, `waiting` is prefetched (held, not started).
    expect(runs).toEqual([busy.id])
    expect(p.app.inspect.reserved().map((t) => t.id)).toEqual([waiting.id])
    loopbackBroker(store).stall(waiting.id, 'any')
    await p.clock.runAll()
    expect(await p.app.AsyncResult(waiting.id).get()).toBe(3)
    expect(runs.filter((id) => id === waiting.id)).toEqual([waiting.id])
    expect(loopbackBroker(store).jobs.get(waiting.id)?.state).toBe('finished')
  })

  it('a process that stops while an acksLate task runs: taken back, it runs again and succeeds', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const first = await processOn(store, runs)
    const r = await first.late.delay()
    await first.clock.advance(0)
    const second = await takenOverFrom(first, store, runs)
    expect(await second.app.AsyncResult(r.id).get()).toBe('late done')
    expect(runs).toEqual([r.id, r.id])
  })

  it('a root send goes to the broker only (no outbox entry): one the broker refuses rejects, and nothing of it is sent later', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const producer = new Celeriac({ transport: loopbackBroker(store).transport(), clock: virtualClock(), consume: false })
    apps.push(producer)
    const add = producer.task('t.add', (a: number, b: number) => a + b)
    await producer.start()
    loopbackBroker(store).refuseAdds = 1
    const refused = add.applyAsync([1, 1], { taskId: 'refused' })
    await expect(refused).rejects.toThrow('refused the add')
    const sent = await add.delay(2, 3)
    expect(await store.entries('messages')).toEqual([])
    expect([...loopbackBroker(store).jobs.keys()]).toEqual([sent.id])
    // A consumer's start and a redelivery resend the outbox: the refused send is not in it.
    const worker = await processOn(store, runs)
    await worker.clock.runAll()
    expect(runs).toEqual([sent.id])
    expect(await worker.app.AsyncResult(sent.id).get()).toBe(5)
    expect(await worker.app.AsyncResult('refused').state()).toBe('PENDING')
  })

  it('what a run sends is in the outbox when the broker gets it (a crash before would leave it to be resent); a root send is not', async () => {
    const store = memoryStorage()
    const runs: string[] = []
    const app = await processOn(store, runs)
    // For each message the broker is given: whether the store holds it (its outbox entry) then.
    const added: Array<[string, boolean]> = []
    loopbackBroker(store).beforeAdd = async (messages) => {
      for (const m of messages) added.push([m.id, (await store.get('messages', m.id)) !== undefined])
    }
    const r = await chain(app.add.s(1, 1), app.add.s(10)).delay()
    const parentId = (r.parent as { id: string }).id
    await app.clock.runAll()
    expect(await r.get()).toBe(12)
    expect(added).toEqual([
      [parentId, false],
      [r.id, true],
    ])
    // Both finished: the chain step's entry is gone again.
    expect(await store.entries('messages')).toEqual([])
    expect(runs).toEqual([parentId, r.id])
  })
})
