/** Attempts and backoff, UnrecoverableError, DelayedError and retrying finished jobs. */
import { DelayedError, UnrecoverableError } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, once, until, useBull } from './harness.js'

/** The gaps between consecutive times, in ms. */
const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!)

describe.each(backends)('BullMQ retries on $name', (backend) => {
  const bull = useBull(backend)

  it('a job with attempts runs until it succeeds, counting attemptsMade', async () => {
    const queue = bull.queue()
    await queue.add('flaky', null, { attempts: 3 })
    const seen: number[] = []
    const worker = bull.worker(bull.name, async (job) => {
      seen.push(job.attemptsMade)
      if (job.attemptsMade < 2) throw new Error(`try ${String(job.attemptsMade)}`)
      return 'third time'
    })
    const failures: string[] = []
    worker.on('failed', (_job, err) => failures.push(err.message))
    const done = (await finished(worker, 3))[2]
    expect(seen).toEqual([0, 1, 2])
    expect(failures).toEqual(['try 0', 'try 1'])
    expect(done?.returnvalue).toBe('third time')
    const read = (await queue.getJob('1'))!
    expect(read.attemptsMade).toBe(3)
    expect(read.attemptsStarted).toBe(3)
    expect(read.stacktrace).toHaveLength(2)
    expect(await read.getState()).toBe('completed')
  })

  it('when attempts run out the job fails with the last error and retries-exhausted is emitted', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const exhausted = once(events, 'retries-exhausted')
    const failedEvent = once(events, 'failed')
    const job = await queue.add('doomed', null, { attempts: 2 })
    const worker = bull.worker(bull.name, async (j) => {
      throw new Error(`attempt ${String(j.attemptsMade + 1)}`)
    })
    await finished(worker, 2)
    const read = (await queue.getJob(job.id!))!
    expect(await read.getState()).toBe('failed')
    expect(read.failedReason).toBe('attempt 2')
    expect(read.attemptsMade).toBe(2)
    expect(await exhausted).toEqual([{ jobId: job.id, attemptsMade: '2' }, expect.any(String)])
    const [failed] = await failedEvent
    expect(failed).toEqual({ jobId: job.id, failedReason: 'attempt 2', prev: 'active' })
  })

  it('fixed backoff waits the same delay before each retry, in the delayed state', async () => {
    const queue = bull.queue()
    await queue.add('x', null, { attempts: 3, backoff: { type: 'fixed', delay: 150 } })
    const times: number[] = []
    const worker = bull.worker(bull.name, async () => {
      times.push(Date.now())
      throw new Error('again')
    })
    const first = await finished(worker, 1)
    expect(await first[0]!.getState()).toBe('delayed')
    await finished(worker, 2)
    expect(times).toHaveLength(3)
    for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(150)
  })

  it('exponential backoff doubles the delay each attempt', async () => {
    const queue = bull.queue()
    await queue.add('x', null, { attempts: 3, backoff: { type: 'exponential', delay: 100 } })
    const times: number[] = []
    const worker = bull.worker(bull.name, async () => {
      times.push(Date.now())
      throw new Error('again')
    })
    await finished(worker, 3)
    const [g1, g2] = gaps(times)
    expect(g1).toBeGreaterThanOrEqual(100)
    expect(g2).toBeGreaterThanOrEqual(200)
  })

  it('a custom backoff strategy decides each delay from attemptsMade, the error and the job', async () => {
    const queue = bull.queue()
    await queue.add('x', { base: 60 }, { attempts: 3, backoff: { type: 'mine' } })
    const calls: [number, string | undefined, string, string][] = []
    const times: number[] = []
    const worker = bull.worker(
      bull.name,
      async () => {
        times.push(Date.now())
        throw new Error('again')
      },
      {
        settings: {
          backoffStrategy: (attemptsMade, type, err, job) => {
            calls.push([attemptsMade, type, err?.message ?? '', job?.name ?? ''])
            return (job!.data as { base: number }).base * attemptsMade
          },
        },
      },
    )
    await finished(worker, 3)
    expect(calls).toEqual([
      [1, 'mine', 'again', 'x'],
      [2, 'mine', 'again', 'x'],
    ])
    const [g1, g2] = gaps(times)
    expect(g1).toBeGreaterThanOrEqual(60)
    expect(g2).toBeGreaterThanOrEqual(120)
  })

  it('UnrecoverableError fails the job at once, whatever attempts are left', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null, { attempts: 5, backoff: { type: 'fixed', delay: 10 } })
    let runs = 0
    const worker = bull.worker(bull.name, async () => {
      runs++
      throw new UnrecoverableError('bad input')
    })
    await finished(worker, 1)
    const read = (await queue.getJob(job.id!))!
    expect(runs).toBe(1)
    expect(await read.getState()).toBe('failed')
    expect(read.failedReason).toBe('bad input')
    expect(read.attemptsMade).toBe(1)
  })

  it('DelayedError after moveToDelayed parks the job without failing it, then runs it again', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', { step: 'first' })
    const runs: { attemptsMade: number; attemptsStarted: number; step: string }[] = []
    const worker = bull.worker(bull.name, async (j, token) => {
      runs.push({ attemptsMade: j.attemptsMade, attemptsStarted: j.attemptsStarted, step: (j.data as { step: string }).step })
      if ((j.data as { step: string }).step === 'first') {
        await j.updateData({ step: 'second' })
        await j.moveToDelayed(Date.now() + 150, token)
        throw new DelayedError()
      }
      return 'done'
    })
    const failed: string[] = []
    worker.on('failed', (_j, e) => failed.push(e.message))
    await until(async () => (await queue.getDelayedCount()) === 1)
    expect(await job.getState()).toBe('delayed')
    const [done] = await finished(worker, 1)
    expect(done?.returnvalue).toBe('done')
    expect(failed).toEqual([])
    expect(runs).toEqual([
      { attemptsMade: 0, attemptsStarted: 1, step: 'first' },
      { attemptsMade: 0, attemptsStarted: 2, step: 'second' },
    ])
  })

  it('job.retry() puts a failed job back to wait, and only a failed job', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null)
    let fail = true
    const worker = bull.worker(bull.name, async () => {
      if (fail) throw new Error('first')
      return 'second'
    })
    await finished(worker, 1)
    fail = false
    const failed = (await queue.getJob(job.id!))!
    expect(await failed.getState()).toBe('failed')
    await failed.retry('failed')
    const [done] = await finished(worker, 1)
    expect(done?.returnvalue).toBe('second')
    // attemptsMade keeps counting across retry() unless it is asked to reset it.
    expect(done?.attemptsMade).toBe(2)
    expect(await queue.getFailedCount()).toBe(0)
    await expect(failed.retry('failed')).rejects.toThrow(`Job ${job.id!} is not in the failed state. reprocessJob`)
  })

  it('queue.retryJobs retries every failed job', async () => {
    const queue = bull.queue()
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'x', data: n })))
    let fail = true
    const worker = bull.worker(bull.name, async (job) => {
      if (fail) throw new Error('no')
      return job.data
    })
    await finished(worker, 3)
    expect(await queue.getFailedCount()).toBe(3)
    fail = false
    await queue.retryJobs({ state: 'failed' })
    await finished(worker, 3)
    expect(await queue.getJobCounts('failed', 'completed')).toEqual({ failed: 0, completed: 3 })
  })
})
