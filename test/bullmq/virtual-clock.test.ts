/**
 * Virtual time through BullMQ's own classes, on the celeriac backends only (Redis keeps its own
 * time): delays, backoff, lock expiry, rate-limit windows and scheduler iterations follow the
 * virtual clock, so hours pass in milliseconds of real time.
 */
import { describe, expect, it } from 'vitest'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'
import { celeriacBackends, itOn } from './backends.js'
import type { BackendSetup, CeleriacBackend } from './backends.js'
import { until, useBull } from './harness.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/**
 * Moves the clock `step` at a time until `done()` holds, giving BullMQ's promise chains (which
 * the clock cannot see) and the file storage's writes a real timer turn between steps (a mere
 * setImmediate left a busy machine's fsync behind: 1 full run in 4 failed). Throws after
 * `maxSteps`.
 */
async function advanceUntil(clock: VirtualClock, done: () => boolean | Promise<boolean>, step: number, maxSteps = 2_000): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (await done()) return
    await clock.advance(step)
    await new Promise((r) => setTimeout(r, 1))
  }
  throw new Error(`advanceUntil: not done after ${String(maxSteps)} steps of ${String(step)} ms`)
}

/** The celeriac backend, opened on `clock` for every test of the describe. */
function onClock(backend: CeleriacBackend, clock: () => VirtualClock): CeleriacBackend {
  return { ...backend, open: (): Promise<BackendSetup> => backend.open({ clock: clock() }) }
}

// With CELERIAC_BULLMQ_BACKENDS=redis there is nothing here to run; say so rather than fail empty.
if (celeriacBackends.length === 0) it.skip('needs a celeriac backend (CELERIAC_BULLMQ_BACKENDS names none)', () => undefined)

describe.each(celeriacBackends)('BullMQ on $name under a virtual clock', (backend) => {
  let clock = virtualClock()
  const bull = useBull(
    onClock(backend, () => {
      clock = virtualClock()
      return clock
    }),
  )

  it('a one-hour delay and three exponential retries complete in milliseconds of real time', async () => {
    const started = Date.now()
    const queue = bull.queue()
    const t0 = clock.now()
    const job = await queue.add('mail', { to: 'ada' }, { delay: HOUR, attempts: 4, backoff: { type: 'exponential', delay: MINUTE } })
    const runs: number[] = []
    bull.worker(bull.name, async (j) => {
      runs.push(clock.now())
      if (j.attemptsMade < 3) throw new Error(`attempt ${String(j.attemptsMade + 1)}`)
      return 'sent'
    })
    await advanceUntil(clock, async () => (await job.getState()) === 'completed', 10_000)
    expect(runs).toHaveLength(4)
    expect(runs[0]! - t0).toBeGreaterThanOrEqual(HOUR)
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(MINUTE)
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(2 * MINUTE)
    expect(runs[3]! - runs[2]!).toBeGreaterThanOrEqual(4 * MINUTE)
    expect((await queue.getJob(job.id!))?.returnvalue).toBe('sent')
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('a delayed job does not run a minute early, and runs once its time comes', async () => {
    const queue = bull.queue()
    const t0 = clock.now()
    const job = await queue.add('later', null, { delay: HOUR })
    let ranAt = 0
    bull.worker(bull.name, async () => {
      ranAt = clock.now()
    })
    await clock.advance(HOUR - MINUTE)
    await new Promise((r) => setTimeout(r, 50))
    expect(await job.getState()).toBe('delayed')
    await advanceUntil(clock, async () => (await job.getState()) === 'completed', 10_000, 200)
    expect(ranAt - t0).toBeGreaterThanOrEqual(HOUR)
  })

  it('a lock expires on the virtual clock: the owner can no longer extend or finish the job', async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    const worker = bull.worker(bull.name, null, { lockDuration: 30_000 })
    const job = (await worker.getNextJob('tok'))!
    expect(await job.extendLock('tok', 30_000)).toBe(1)
    await clock.advance(31_000)
    expect(await job.extendLock('tok', 30_000)).toBe(0)
    await expect(job.moveToCompleted('late', 'tok', false)).rejects.toThrow(`Missing lock for job ${job.id!}. moveToFinished`)
  })

  itOn(backend, {
    // Documented in src/bullmq/README.md ("What virtual time cannot reach"): BullMQ's Worker
    // sleeps it out with setTimeout and does not call the backend meanwhile.
    'celeriac-memory': 'gap: the Worker sleeps out a rate-limit delay with a real setTimeout, so a one-minute window takes a real minute',
    'celeriac-file': 'gap: the Worker sleeps out a rate-limit delay with a real setTimeout, so a one-minute window takes a real minute',
  })('a limiter window of a minute lets one job through per virtual minute', async () => {
    const queue = bull.queue()
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'x', data: n })))
    const runs: number[] = []
    bull.worker(
      bull.name,
      async () => {
        runs.push(clock.now())
      },
      { limiter: { max: 1, duration: MINUTE } },
    )
    await advanceUntil(clock, () => runs.length === 3, 5_000)
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(MINUTE)
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(MINUTE)
  })

  it('an hourly scheduler runs an iteration each virtual hour', async () => {
    const queue = bull.queue()
    const t0 = clock.now()
    await queue.upsertJobScheduler('hourly', { every: HOUR }, { name: 'tick' })
    const runs: number[] = []
    bull.worker(bull.name, async () => {
      runs.push(clock.now() - t0)
    })
    // The clock moves only here, to each due time, then waits for the run: how long the Worker
    // takes to claim a job (real time) never shows as virtual lateness.
    await until(() => runs.length === 1)
    for (const k of [1, 2]) {
      await until(async () => (await queue.getDelayedCount()) === 1)
      await clock.advance(HOUR - MINUTE)
      expect(runs).toHaveLength(k)
      await clock.advance(MINUTE)
      await until(() => runs.length === k + 1)
    }
    expect(runs).toEqual([0, HOUR, 2 * HOUR])
  })
})
