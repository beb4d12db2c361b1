/** Manual processing with tokens, locks and their extension, and stalled-job recovery. */
import { Job } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, once, useBull } from './harness.js'

describe.each(backends)('BullMQ manual processing and locks on $name', (backend) => {
  const bull = useBull(backend)

  it('getNextJob takes the next job under a token; moveToCompleted finishes it', async () => {
    const queue = bull.queue()
    await queue.add('a', { n: 1 })
    const worker = bull.worker(bull.name, null)
    const job = (await worker.getNextJob('token-1'))!
    expect(job.name).toBe('a')
    expect(job.token).toBe('token-1')
    expect(await job.getState()).toBe('active')
    expect(await queue.getActiveCount()).toBe(1)
    expect(await job.moveToCompleted({ ok: true }, 'token-1', false)).toEqual([])
    const read = (await queue.getJob(job.id!))!
    expect(await read.getState()).toBe('completed')
    expect(read.returnvalue).toEqual({ ok: true })
    expect(await worker.getNextJob('token-2')).toBeUndefined()
  })

  it('moveToCompleted with fetchNext returns the next job, already active under the same token', async () => {
    const queue = bull.queue()
    await queue.addBulk([
      { name: 'a', data: 1 },
      { name: 'b', data: 2 },
    ])
    const worker = bull.worker(bull.name, null)
    const first = (await worker.getNextJob('tok'))!
    const [data, id] = (await first.moveToCompleted('one', 'tok', true)) as [Parameters<typeof Job.fromJSON>[1], string]
    const second = Job.fromJSON(queue, data, id)
    expect(second.name).toBe('b')
    expect(await second.getState()).toBe('active')
    await second.moveToFailed(new Error('two failed'), 'tok', false)
    const read = (await queue.getJob(id))!
    expect(await read.getState()).toBe('failed')
    expect(read.failedReason).toBe('two failed')
    expect(await queue.getJobCounts('completed', 'failed', 'active', 'wait')).toEqual({ completed: 1, failed: 1, active: 0, wait: 0 })
  })

  it('moveToFailed with attempts left retries the job instead of failing it', async () => {
    const queue = bull.queue()
    await queue.add('a', null, { attempts: 2 })
    const worker = bull.worker(bull.name, null)
    const job = (await worker.getNextJob('tok'))!
    await job.moveToFailed(new Error('once'), 'tok', false)
    expect(await job.getState()).toBe('waiting')
    const again = (await worker.getNextJob('tok2'))!
    expect(again.id).toBe(job.id)
    expect(again.attemptsMade).toBe(1)
  })

  it('extendLock keeps a manual job from stalling past its lockDuration', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const stalled: string[] = []
    events.on('stalled', ({ jobId }) => stalled.push(jobId))
    await queue.add('a', null)
    const worker = bull.worker(bull.name, null, { lockDuration: 300, stalledInterval: 100 })
    const job = (await worker.getNextJob('tok'))!
    await worker.startStalledCheckTimer()
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100))
      expect(await job.extendLock('tok', 300)).toBe(1)
    }
    expect(stalled).toEqual([])
    expect(await job.getState()).toBe('active')
    await job.moveToCompleted('done', 'tok', false)
    expect(await job.getState()).toBe('completed')
  })

  it('a job whose lock expires is stalled: back to wait, run by another worker, and its old token is refused', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const job = await queue.add('a', null)
    const stalled = once(events, 'stalled')
    const crashed = bull.worker(bull.name, null, { lockDuration: 200, stalledInterval: 100 })
    const taken = (await crashed.getNextJob('lost'))!
    expect(taken.id).toBe(job.id)
    await crashed.startStalledCheckTimer()
    expect(await stalled).toEqual([{ jobId: job.id }, expect.any(String)])
    const rescuer = bull.worker(bull.name, async (j) => `rescued ${String(j.stalledCounter)}`)
    const [done] = await finished(rescuer, 1)
    expect(done?.returnvalue).toBe('rescued 1')
    await expect(taken.moveToCompleted('late', 'lost', false)).rejects.toThrow(`Missing lock for job ${job.id!}. moveToFinished`)
  })

  it('a job stalled more than maxStalledCount times fails', async () => {
    const queue = bull.queue()
    const job = await queue.add('a', null)
    const crashed = bull.worker(bull.name, null, { lockDuration: 200, stalledInterval: 100, maxStalledCount: 0 })
    await crashed.getNextJob('lost')
    await crashed.startStalledCheckTimer()
    // The stall check only marks it; the job fails when a worker picks it up next.
    let ran = false
    const next = bull.worker(bull.name, async () => {
      ran = true
    })
    const [failed] = await finished(next, 1)
    expect(failed?.id).toBe(job.id)
    expect(ran).toBe(false)
    expect(await queue.getJobState(job.id!)).toBe('failed')
    expect((await queue.getJob(job.id!))?.failedReason).toBe('job stalled more than allowable limit')
  })

  it('a processor slower than lockDuration keeps its lock (the worker renews it) and is not stalled', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const stalled: string[] = []
    events.on('stalled', ({ jobId }) => stalled.push(jobId))
    await queue.add('slow', null)
    const worker = bull.worker(
      bull.name,
      async () => {
        await new Promise((r) => setTimeout(r, 700))
        return 'ok'
      },
      { lockDuration: 200, stalledInterval: 100 },
    )
    const [done] = await finished(worker, 1)
    expect(done?.returnvalue).toBe('ok')
    expect(stalled).toEqual([])
    expect(done?.stalledCounter).toBe(0)
  })

  it('moveToWait (manual rate limit) returns an active job to wait without spending an attempt', async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    const worker = bull.worker(bull.name, null)
    const job = (await worker.getNextJob('tok'))!
    expect(await job.moveToWait('tok')).toBe(0)
    expect(await job.getState()).toBe('waiting')
    const again = (await worker.getNextJob('tok2'))!
    expect(again.id).toBe(job.id)
    expect(again.attemptsMade).toBe(0)
  })
})
