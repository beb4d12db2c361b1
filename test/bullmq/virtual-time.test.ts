/**
 * Virtual time through BullMQ's own classes: a job delayed by an hour that fails three times
 * with exponential backoff completes after the virtual clock is moved, in milliseconds of real
 * time. BullMQ's Worker reads the real clock itself; the backend hands it times on that frame.
 */
import { type ConnectionOptions, Queue, QueueEvents, Worker } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { virtualClock } from '../../src/testing.js'

// BullMQ still demands a connection object; this backend never uses it.
const connection = {} as ConnectionOptions
const closers: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** Moves the clock in steps, letting the worker's promises run between them. */
async function advanceUntil(clock: ReturnType<typeof virtualClock>, done: () => boolean, stepMs: number, maxSteps = 1000): Promise<void> {
  for (let i = 0; i < maxSteps && !done(); i++) {
    await clock.advance(stepMs)
    await new Promise((r) => setImmediate(r))
  }
}

describe('celeriac/bullmq under a virtual clock', () => {
  it('runs a one-hour delay and three exponential retries in milliseconds', async () => {
    const clock = virtualClock()
    const factory = bullmqBackend({ clock })
    const queue = new Queue('virtual', { connection }, factory)
    closers.push(() => queue.close())
    const attempts: number[] = []
    const worker = new Worker(
      'virtual',
      async (job) => {
        attempts.push(clock.now())
        if (job.attemptsMade < 3) throw new Error(`attempt ${job.attemptsMade + 1}`)
        return 'done'
      },
      { connection, drainDelay: 1 },
      factory,
    )
    closers.push(() => worker.close())
    const started = Date.now()
    const t0 = clock.now()
    const job = await queue.add('mail', { to: 'a@b.c' }, { delay: 3_600_000, attempts: 4, backoff: { type: 'exponential', delay: 60_000 } })
    expect(await job.getState()).toBe('delayed')

    await advanceUntil(clock, () => attempts.length > 0, 600_000)
    expect(attempts).toHaveLength(1)
    expect(attempts[0]! - t0).toBeGreaterThanOrEqual(3_600_000)

    let state = await job.getState()
    await advanceUntil(
      clock,
      () => {
        void job.getState().then((s) => (state = s))
        return state === 'completed'
      },
      30_000,
    )
    const done = await queue.getJob(job.id!)
    expect(await done!.getState()).toBe('completed')
    expect(done!.returnvalue).toBe('done')
    expect(done!.attemptsMade).toBe(4)
    expect(attempts).toHaveLength(4)
    // backoff 60 s, 120 s, 240 s between the attempts, in virtual time
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(60_000)
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(120_000)
    expect(attempts[3]! - attempts[2]!).toBeGreaterThanOrEqual(240_000)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('QueueEvents sees the job complete', async () => {
    const clock = virtualClock()
    const factory = bullmqBackend({ clock })
    const queue = new Queue('virtual-events', { connection }, factory)
    const events = new QueueEvents('virtual-events', { connection }, factory)
    closers.push(
      () => queue.close(),
      () => events.close(),
    )
    await events.waitUntilReady()
    const worker = new Worker('virtual-events', async () => 42, { connection }, factory)
    closers.push(() => worker.close())
    const job = await queue.add('answer', {}, { delay: 1_000 })
    const finished = job.waitUntilFinished(events)
    await advanceUntil(clock, () => false, 1_000, 3)
    expect(await finished).toBe(42)
  })
})
