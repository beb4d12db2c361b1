/**
 * Bad input gets what it gets on Redis: BullMQ's negative codes become its own errors, with the
 * same messages and `code`, through BullMQ's classes.
 */
import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { memoryStorage } from '../../src/storage/memory.js'

const connection = {} as ConnectionOptions
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function setup(name: string) {
  const factory = bullmqBackend({ storage: memoryStorage() })
  const queue = new Queue(name, { connection }, factory)
  closers.push(() => queue.close())
  return { factory, queue }
}

describe('celeriac/bullmq error codes', () => {
  it('a finish with a token that does not own the lock', async () => {
    const { factory, queue } = setup('codes-lock')
    const worker = new Worker('codes-lock', null, { connection }, factory)
    closers.push(() => worker.close())
    await queue.add('a', {})
    const job = (await worker.getNextJob('token-1')) as Job
    await expect(job.moveToCompleted('x', 'token-2', false)).rejects.toMatchObject({
      message: `Lock mismatch for job ${job.id}. Cmd moveToFinished from active`,
      code: -6,
    })
    await job.moveToCompleted('x', 'token-1', false)
    await expect(job.moveToCompleted('x', 'token-1', false)).rejects.toMatchObject({ message: `Missing lock for job ${job.id}. moveToFinished`, code: -2 })
  })

  it('a job not in the state an operation needs, or gone', async () => {
    const { queue } = setup('codes-state')
    const job = await queue.add('a', {})
    await expect(job.promote()).rejects.toMatchObject({ message: `Job ${job.id} is not in the delayed state. promote`, code: -3 })
    await expect(job.changeDelay(10)).rejects.toMatchObject({ message: `Job ${job.id} is not in the delayed state. changeDelay`, code: -3 })
    await job.remove()
    await expect(job.updateProgress(50)).rejects.toMatchObject({ message: `Missing key for job ${job.id}. updateProgress`, code: -1 })
  })

  it('a child whose parent does not exist', async () => {
    const { queue } = setup('codes-parent')
    await expect(queue.add('child', {}, { parent: { id: 'nope', queue: 'bull:codes-parent' } })).rejects.toMatchObject({
      message: 'Missing key for parent job bull:codes-parent:nope. addJob',
      code: -5,
    })
  })

  it('completing a parent whose children are pending', async () => {
    const { factory, queue } = setup('codes-pending')
    const worker = new Worker('codes-pending', null, { connection }, factory)
    closers.push(() => worker.close())
    const parent = await queue.add('parent', {})
    await queue.add('child', {}, { parent: { id: parent.id!, queue: 'bull:codes-pending' } })
    const claimed = (await worker.getNextJob('t')) as Job
    expect(claimed.id).toBe(parent.id)
    await expect(claimed.moveToCompleted('x', 't', false)).rejects.toMatchObject({
      message: `Job ${parent.id} has pending dependencies. moveToFinished`,
      code: -4,
    })
  })
})
