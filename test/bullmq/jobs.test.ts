/** Adding jobs, reading them back, priorities, delays, progress, logs and data updates. */
import { Job } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, useBull } from './harness.js'

describe.each(backends)('BullMQ jobs on $name', (backend) => {
  const bull = useBull(backend)

  it('add returns a job with an id from the queue counter, its data, options and timestamps', async () => {
    const queue = bull.queue()
    const before = Date.now()
    const a = await queue.add('email', { to: 'ada' }, { attempts: 3 })
    const b = await queue.add('email', { to: 'bob' })
    expect([a.id, b.id]).toEqual(['1', '2'])
    expect(a.name).toBe('email')
    expect(a.data).toEqual({ to: 'ada' })
    expect(a.opts.attempts).toBe(3)
    expect(a.timestamp).toBeGreaterThanOrEqual(before)
    const read = await queue.getJob('1')
    expect(read?.data).toEqual({ to: 'ada' })
    expect(read?.opts.attempts).toBe(3)
    expect(read?.attemptsMade).toBe(0)
    expect(await queue.getJob('nope')).toBeUndefined()
    expect(await a.getState()).toBe('waiting')
  })

  it('a custom job id is kept, and adding it again returns the existing job unchanged', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const duplicated = new Promise<string>((resolve) => events.on('duplicated', ({ jobId }) => resolve(jobId)))
    const first = await queue.add('x', { v: 1 }, { jobId: 'mine' })
    const again = await queue.add('x', { v: 2 }, { jobId: 'mine' })
    expect(first.id).toBe('mine')
    expect(again.id).toBe('mine')
    expect((await queue.getJob('mine'))?.data).toEqual({ v: 1 })
    expect(await queue.count()).toBe(1)
    expect(await duplicated).toBe('mine')
  })

  it('addBulk adds in order and getJobs lists them newest first unless asked otherwise', async () => {
    const queue = bull.queue()
    const jobs = await queue.addBulk([
      { name: 'a', data: 1 },
      { name: 'b', data: 2 },
      { name: 'c', data: 3, opts: { jobId: 'c' } },
    ])
    expect(jobs.map((j) => j.id)).toEqual(['1', '2', 'c'])
    const names = async (asc: boolean, end = -1): Promise<string[]> => (await queue.getJobs(['wait'], 0, end, asc)).map((j) => j.name)
    expect(await names(false)).toEqual(['c', 'b', 'a'])
    expect(await names(true)).toEqual(['a', 'b', 'c'])
    expect(await names(false, 1)).toEqual(['c', 'b'])
    expect(await names(true, 1)).toEqual(['a', 'b'])
    // getWaiting lists oldest first (it asks for ascending order).
    expect((await queue.getWaiting()).map((j) => j.name)).toEqual(['a', 'b', 'c'])
    expect(await queue.getWaitingCount()).toBe(3)
    expect(await queue.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed')).toEqual({ wait: 3, active: 0, completed: 0, failed: 0, delayed: 0 })
  })

  it('counts and getters follow jobs through completed and failed', async () => {
    const queue = bull.queue()
    await queue.addBulk([
      { name: 'ok', data: 1 },
      { name: 'bad', data: 2 },
      { name: 'ok', data: 3 },
    ])
    const worker = bull.worker(bull.name, async (job) => {
      if (job.name === 'bad') throw new Error('nope')
      return (job.data as number) * 10
    })
    await finished(worker, 3)
    expect(await queue.getJobCounts('wait', 'completed', 'failed')).toEqual({ wait: 0, completed: 2, failed: 1 })
    expect(await queue.getCompletedCount()).toBe(2)
    expect(await queue.getFailedCount()).toBe(1)
    const completed = await queue.getCompleted()
    expect(completed.map((j) => j.returnvalue).sort()).toEqual([10, 30])
    const [failed] = await queue.getFailed()
    expect(failed?.failedReason).toBe('nope')
    expect(failed?.stacktrace?.[0]).toContain('Error: nope')
    expect(await failed?.getState()).toBe('failed')
    expect(await failed?.isFailed()).toBe(true)
    expect(failed?.finishedOn).toBeGreaterThan(0)
    expect(failed?.processedOn).toBeGreaterThan(0)
  })

  it('priorities: lower numbers first, FIFO within a priority, unprioritized jobs before all', async () => {
    const queue = bull.queue()
    await queue.add('p5a', null, { priority: 5 })
    await queue.add('p1', null, { priority: 1 })
    await queue.add('p5b', null, { priority: 5 })
    await queue.add('none', null)
    await queue.add('p3', null, { priority: 3 })
    expect(await queue.getJobCounts('wait', 'prioritized')).toEqual({ wait: 1, prioritized: 4 })
    expect(await queue.getCountsPerPriority([0, 1, 3, 5])).toEqual({ '0': 1, '1': 1, '3': 1, '5': 2 })
    const p3 = (await queue.getJob('5'))!
    expect(await p3.getState()).toBe('prioritized')
    const order: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      order.push(job.name)
    })
    await finished(worker, 5)
    expect(order).toEqual(['none', 'p1', 'p3', 'p5a', 'p5b'])
  })

  it('changePriority moves a waiting job between priorities', async () => {
    const queue = bull.queue()
    await queue.add('a', null, { priority: 2 })
    const b = await queue.add('b', null, { priority: 3 })
    await b.changePriority({ priority: 1 })
    expect((await queue.getJob(b.id!))?.priority).toBe(1)
    const order: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      order.push(job.name)
    })
    await finished(worker, 2)
    expect(order).toEqual(['b', 'a'])
  })

  it('lifo jobs go to the front of the wait list', async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    await queue.add('b', null)
    await queue.add('c', null, { lifo: true })
    const order: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      order.push(job.name)
    })
    await finished(worker, 3)
    expect(order).toEqual(['c', 'a', 'b'])
  })

  it('a delayed job waits in delayed, then runs no earlier than its delay', async () => {
    const queue = bull.queue()
    const job = await queue.add('later', null, { delay: 300 })
    expect(await job.getState()).toBe('delayed')
    expect(await queue.getDelayedCount()).toBe(1)
    expect((await queue.getDelayed()).map((j) => j.id)).toEqual([job.id])
    const worker = bull.worker(bull.name, async () => 'done')
    const [done] = await finished(worker, 1)
    expect(done?.processedOn).toBeGreaterThanOrEqual(job.timestamp + 300)
    expect(await queue.getDelayedCount()).toBe(0)
    expect(await queue.getCompletedCount()).toBe(1)
  })

  it('promote runs one delayed job now, promoteJobs the rest in due order', async () => {
    const queue = bull.queue()
    const order: string[] = []
    const jobs = await queue.addBulk(['a', 'b', 'c'].map((name) => ({ name, data: null, opts: { delay: 60_000 } })))
    await queue.add('d', null, { delay: 60_000 })
    await jobs[1]!.promote()
    expect(await jobs[1]!.getState()).toBe('waiting')
    expect(await queue.getDelayedCount()).toBe(3)
    const worker = bull.worker(bull.name, async (job) => {
      order.push(job.name)
    })
    await finished(worker, 1)
    expect(order).toEqual(['b'])
    expect(await queue.promoteJobs()).toBeUndefined()
    await finished(worker, 3)
    expect(order).toEqual(['b', 'a', 'c', 'd'])
  })

  it('a delayed job with a priority becomes prioritized when due, and promote does the same', async () => {
    const queue = bull.queue()
    const a = await queue.add('a', null, { delay: 100, priority: 5 })
    const b = await queue.add('b', null, { delay: 60_000, priority: 1 })
    await b.promote()
    expect(await b.getState()).toBe('prioritized')
    await new Promise((r) => setTimeout(r, 150))
    const order: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      order.push(job.name)
    })
    await finished(worker, 2)
    expect(order).toEqual(['b', 'a'])
    expect(await a.getState()).toBe('completed')
  })

  it('job.retry("completed") runs a completed job again', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null)
    let runs = 0
    const worker = bull.worker(bull.name, async () => ++runs)
    await finished(worker, 1)
    await (await queue.getJob(job.id!))!.retry('completed')
    const [again] = await finished(worker, 1)
    expect(again?.returnvalue).toBe(2)
    expect(await queue.getCompletedCount()).toBe(1)
  })

  it('changeDelay re-times a delayed job and fails on one that is not delayed', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null, { delay: 60_000 })
    await job.changeDelay(100)
    const worker = bull.worker(bull.name, async () => 'ok')
    await finished(worker, 1)
    expect(await job.getState()).toBe('completed')
    await expect(job.changeDelay(10)).rejects.toThrow(`Job ${job.id!} is not in the delayed state. changeDelay`)
  })

  it('progress, logs and updateData are stored and visible from a fresh read', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const progress: unknown[] = []
    events.on('progress', ({ data }) => progress.push(data))
    const added = await queue.add('x', { step: 0 })
    const worker = bull.worker(bull.name, async (job) => {
      await job.updateProgress(50)
      await job.log('half way')
      await job.updateData({ step: 1 })
      await job.updateProgress({ stage: 'end' })
      await job.log('done')
      return job.data
    })
    const [done] = await finished(worker, 1)
    expect(done?.returnvalue).toEqual({ step: 1 })
    const read = (await queue.getJob(added.id!))!
    expect(read.progress).toEqual({ stage: 'end' })
    expect(read.data).toEqual({ step: 1 })
    expect(await queue.getJobLogs(added.id!)).toEqual({ logs: ['half way', 'done'], count: 2 })
    expect(await queue.getJobLogs(added.id!, 0, 0, false)).toEqual({ logs: ['done'], count: 2 })
    await new Promise((r) => setTimeout(r, 50))
    expect(progress).toEqual([50, { stage: 'end' }])
  })

  it('keepLogs keeps only the newest log lines; clearLogs empties them', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null)
    for (const line of ['1', '2', '3', '4']) await job.log(line)
    expect(await queue.addJobLog(job.id!, '5', 2)).toBe(2)
    expect(await queue.getJobLogs(job.id!)).toEqual({ logs: ['4', '5'], count: 2 })
    await job.clearLogs()
    expect(await queue.getJobLogs(job.id!)).toEqual({ logs: [], count: 0 })
  })

  it('Job.fromId and job.isCompleted read a job after it finished; removeOnComplete deletes it', async () => {
    const queue = bull.queue()
    const kept = await queue.add('kept', 1)
    const gone = await queue.add('gone', 2, { removeOnComplete: true })
    const worker = bull.worker(bull.name, async (job) => job.data)
    await finished(worker, 2)
    const read = await Job.fromId(queue, kept.id!)
    expect(read?.returnvalue).toBe(1)
    expect(await read?.isCompleted()).toBe(true)
    expect(await Job.fromId(queue, gone.id!)).toBeUndefined()
    expect(await queue.getCompletedCount()).toBe(1)
  })

  it('removeOnComplete with a count keeps only the newest completed jobs', async () => {
    const queue = bull.queue()
    await queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'n', data: n, opts: { removeOnComplete: 2 } })))
    const worker = bull.worker(bull.name, async (job) => job.data)
    await finished(worker, 4)
    expect((await queue.getCompleted()).map((j) => j.data)).toEqual([4, 3])
  })
})
