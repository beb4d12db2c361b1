/** What is kept: removeOnComplete / removeOnFail policies, keepLogs, stackTraceLimit, state getters. */
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, useBull } from './harness.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe.each(backends)('BullMQ keep policies and getters on $name', (backend) => {
  const bull = useBull(backend)

  it('removeOnFail applies only when the last attempt fails; a count keeps the newest failures', async () => {
    const queue = bull.queue()
    await queue.add('retried', null, { attempts: 2, removeOnFail: true })
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'kept', data: n, opts: { removeOnFail: 2 } })))
    const attempts: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      attempts.push(`${job.name}:${String(job.attemptsMade)}`)
      throw new Error('no')
    })
    await finished(worker, 5)
    expect(attempts.filter((a) => a.startsWith('retried'))).toEqual(['retried:0', 'retried:1'])
    expect(await queue.getJob('1')).toBeUndefined()
    expect((await queue.getFailed()).map((j) => j.data)).toEqual([3, 2])
  })

  it('removeOnComplete with an age removes completed jobs older than that many seconds', async () => {
    const queue = bull.queue()
    const worker = bull.worker(bull.name, async (job) => job.data)
    await queue.add('old', 1, { removeOnComplete: { age: 1 } })
    await finished(worker, 1)
    await sleep(1_100)
    await queue.add('new', 2, { removeOnComplete: { age: 1 } })
    await finished(worker, 1)
    expect((await queue.getCompleted()).map((j) => j.name)).toEqual(['new'])
  })

  it("a worker's removeOnComplete applies to jobs that set none", async () => {
    const queue = bull.queue()
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'x', data: n })))
    await queue.add('own', 4, { removeOnComplete: false })
    const worker = bull.worker(bull.name, async (job) => job.data, { removeOnComplete: { count: 1 } })
    await finished(worker, 4)
    const kept = (await queue.getCompleted()).map((j) => j.data as number).sort()
    expect(kept).toContain(4)
    expect(kept).toHaveLength(2)
  })

  it('keepLogs keeps the newest lines of a job as the processor logs', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null, { keepLogs: 2 })
    const worker = bull.worker(bull.name, async (j) => {
      for (const line of ['a', 'b', 'c']) await j.log(line)
    })
    await finished(worker, 1)
    expect(await queue.getJobLogs(job.id!)).toEqual({ logs: ['b', 'c'], count: 2 })
  })

  it('stackTraceLimit keeps only the newest stack traces across attempts', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null, { attempts: 3, stackTraceLimit: 1 })
    const worker = bull.worker(bull.name, async (j) => {
      throw new Error(`attempt ${String(j.attemptsMade)}`)
    })
    await finished(worker, 3)
    const read = (await queue.getJob(job.id!))!
    expect(read.stacktrace).toHaveLength(1)
    expect(read.stacktrace?.[0]).toContain('attempt 2')
  })

  it('removing a job removes its logs', async () => {
    const queue = bull.queue()
    const job = await queue.add('x', null)
    await job.log('line')
    await job.remove()
    expect(await queue.getJobLogs(job.id!)).toEqual({ logs: [], count: 0 })
  })

  it('getJobCounts with no types counts every state; the getters list each', async () => {
    const queue = bull.queue()
    const flow = bull.flow()
    await queue.add('w', null)
    await queue.add('p', null, { priority: 3 })
    await queue.add('d', null, { delay: 60_000 })
    const tree = await flow.add({ name: 'parent', queueName: bull.name, children: [{ name: 'child', queueName: `${bull.name}-children` }] })
    const counts = await queue.getJobCounts()
    expect(counts).toMatchObject({ waiting: 1, prioritized: 1, delayed: 1, 'waiting-children': 1, active: 0, completed: 0, failed: 0 })
    expect((await queue.getPrioritized()).map((j) => j.name)).toEqual(['p'])
    expect((await queue.getWaitingChildren()).map((j) => j.id)).toEqual([tree.job.id])
    expect(await queue.getWaitingChildrenCount()).toBe(1)
    expect(await queue.getPrioritizedCount()).toBe(1)
    expect(await queue.count()).toBe(4)
  })
})
