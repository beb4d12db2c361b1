/**
 * Operations on missing jobs, on jobs in the wrong state, without the lock or with another
 * worker's token: the exact error messages (or return values) Redis gives.
 */
import { ErrorCode } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { useBull } from './harness.js'

describe.each(backends)('BullMQ bad input on $name', (backend) => {
  const bull = useBull(backend)

  it('a removed job: every operation names the job and the command', async () => {
    const queue = bull.queue()
    const job = await queue.add('a', null, { delay: 60_000 })
    await job.remove()
    const id = job.id!
    await expect(job.changeDelay(10)).rejects.toThrow(`Missing key for job ${id}. changeDelay`)
    await expect(job.updateProgress(1)).rejects.toThrow(`Missing key for job ${id}. updateProgress`)
    await expect(job.updateData({})).rejects.toThrow(`Missing key for job ${id}. updateData`)
    await expect(job.changePriority({ priority: 2 })).rejects.toThrow(`Missing key for job ${id}. changePriority`)
    await expect(job.moveToCompleted('x', 'tok', false)).rejects.toThrow(`Missing key for job ${id}. moveToFinished`)
    await expect(job.moveToFailed(new Error('x'), 'tok', false)).rejects.toThrow(`Missing key for job ${id}. moveToFinished`)
    await expect(job.retry('failed')).rejects.toThrow(`Missing key for job ${id}. reprocessJob`)
    await expect(job.log('x')).rejects.toThrow(`Missing key for job ${id}. addLog`)
    await expect(job.moveToDelayed(Date.now() + 10, 'tok')).rejects.toThrow(`Missing key for job ${id}. moveToDelayed`)
    await expect(job.moveToWait('tok')).rejects.toThrow(`Missing key for job ${id}. moveJobFromActiveToWait`)
    await expect(job.moveToWaitingChildren('tok')).rejects.toThrow(`Missing key for job ${id}. moveToWaitingChildren`)
    // Redis checks the delayed set before the job key here.
    await expect(job.promote()).rejects.toThrow(`Job ${id} is not in the delayed state. promote`)
    expect(await job.extendLock('tok', 1_000)).toBe(0)
    expect(await job.getState()).toBe('unknown')
    expect(await job.isCompleted()).toBe(false)
    expect(await queue.remove(id)).toBe(1)
    expect(await queue.getJobLogs('nope')).toEqual({ logs: [], count: 0 })
  })

  it('a waiting job: operations that need a lock or another state say so', async () => {
    const queue = bull.queue()
    const job = await queue.add('b', null)
    const id = job.id!
    await expect(job.changeDelay(10)).rejects.toThrow(`Job ${id} is not in the delayed state. changeDelay`)
    await expect(job.promote()).rejects.toThrow(`Job ${id} is not in the delayed state. promote`)
    await expect(job.moveToCompleted('x', 'tok', false)).rejects.toThrow(`Missing lock for job ${id}. moveToFinished`)
    await expect(job.moveToDelayed(Date.now() + 10, 'tok')).rejects.toThrow(`Missing lock for job ${id}. moveToDelayed`)
    await expect(job.moveToWait('tok')).rejects.toThrow(`Missing lock for job ${id}. moveJobFromActiveToWait`)
    await expect(job.retry('failed')).rejects.toThrow(`Job ${id} is not in the failed state. reprocessJob`)
    await expect(job.retry('completed')).rejects.toThrow(`Job ${id} is not in the completed state. reprocessJob`)
    expect(await job.extendLock('tok', 1_000)).toBe(0)
    expect(await job.moveToWaitingChildren('tok')).toBe(false)
    expect(await job.getState()).toBe('waiting')
  })

  it("an active job: another worker's token is refused, and so is the owner's once it is finished", async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    const worker = bull.worker(bull.name, null)
    const job = (await worker.getNextJob('right'))!
    const id = job.id!
    await expect(job.moveToCompleted('x', 'wrong', false)).rejects.toThrow(`Lock mismatch for job ${id}. Cmd moveToFinished from active`)
    await expect(job.moveToFailed(new Error('e'), 'wrong', false)).rejects.toThrow(`Lock mismatch for job ${id}. Cmd moveToFinished from active`)
    await expect(job.moveToDelayed(Date.now() + 10, 'wrong')).rejects.toThrow(`Lock mismatch for job ${id}. Cmd moveToDelayed from active`)
    expect(await job.extendLock('wrong', 1_000)).toBe(0)
    await expect(job.remove()).rejects.toThrow(`Job ${id} could not be removed because it is locked by another worker`)
    await expect(job.retry('failed')).rejects.toThrow(`Job ${id} is not in the failed state. reprocessJob`)
    expect(await job.getState()).toBe('active')
    expect(await job.moveToCompleted('x', 'right', false)).toEqual([])
    await expect(job.moveToCompleted('x', 'right', false)).rejects.toThrow(`Missing lock for job ${id}. moveToFinished`)
    await expect(job.moveToDelayed(Date.now() + 10, 'right')).rejects.toThrow(`Missing lock for job ${id}. moveToDelayed`)
    expect(await job.extendLock('right', 1_000)).toBe(0)
    expect(await job.getState()).toBe('completed')
  })

  it("moveToWait with another worker's token is refused with the exact message", async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    const worker = bull.worker(bull.name, null)
    const job = (await worker.getNextJob('right'))!
    await expect(job.moveToWait('wrong')).rejects.toThrow(`Lock mismatch for job ${job.id!}. Cmd moveJobFromActiveToWait from active`)
    expect(await job.getState()).toBe('active')
  })

  it("the errors carry BullMQ's numeric code (ErrorCode)", async () => {
    const queue = bull.queue()
    await queue.add('active', null)
    const worker = bull.worker(bull.name, null)
    const active = (await worker.getNextJob('right'))!
    const waiting = await queue.add('waiting', null)
    const gone = await queue.add('gone', null)
    await gone.remove()
    await expect(gone.updateProgress(1)).rejects.toMatchObject({ code: ErrorCode.JobNotExist })
    await expect(waiting.moveToCompleted('x', 'tok', false)).rejects.toMatchObject({ code: ErrorCode.JobLockNotExist })
    await expect(waiting.promote()).rejects.toMatchObject({ code: ErrorCode.JobNotInState })
    await expect(active.moveToCompleted('x', 'wrong', false)).rejects.toMatchObject({ code: ErrorCode.JobLockMismatch })
    await expect(queue.add('c', null, { parent: { id: 'nope', queue: queue.qualifiedName } })).rejects.toMatchObject({ code: ErrorCode.ParentJobNotExist })
  })

  it('a parent cannot complete while a child it gained while active is pending', async () => {
    const queue = bull.queue()
    const parent = await queue.add('parent', null)
    const worker = bull.worker(bull.name, null)
    const claimed = (await worker.getNextJob('t'))!
    expect(claimed.id).toBe(parent.id)
    await queue.add('child', null, { parent: { id: parent.id!, queue: queue.qualifiedName } })
    await expect(claimed.moveToCompleted('x', 't', false)).rejects.toMatchObject({
      message: `Job ${parent.id!} has pending dependencies. moveToFinished`,
      code: ErrorCode.JobPendingChildren,
    })
    expect(await claimed.getState()).toBe('active')
  })

  it('a child whose parent does not exist is refused', async () => {
    const queue = bull.queue()
    const parentKey = `${queue.qualifiedName}:nope`
    await expect(queue.add('c', null, { parent: { id: 'nope', queue: queue.qualifiedName } })).rejects.toThrow(
      `Missing key for parent job ${parentKey}. addJob`,
    )
    expect(await queue.count()).toBe(0)
  })

  it('the pending iteration of a job scheduler cannot be removed by id', async () => {
    const queue = bull.queue()
    const job = (await queue.upsertJobScheduler('s', { every: 60_000 }))!
    await expect(queue.remove(job.id!)).rejects.toThrow(`Job ${job.id!} belongs to a job scheduler and cannot be removed directly. removeJob`)
    // An `every` scheduler's first iteration is due at once.
    expect(await queue.getJobState(job.id!)).toBe('waiting')
  })
})
