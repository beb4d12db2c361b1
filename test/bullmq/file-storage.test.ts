/**
 * File storage: what BullMQ's classes wrote is there after a restart (a new storage handle on
 * the same directory), in the same states and order.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { fileStorage } from '../../src/storage/file/index.js'

const connection = {} as ConnectionOptions
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('celeriac/bullmq on file storage', () => {
  it('keeps jobs, their states and order across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-test-'))
    dirs.push(dir)
    const storage1 = fileStorage({ dir })
    const factory1 = bullmqBackend({ storage: storage1 })
    const queue1 = new Queue('durable', { connection }, factory1)
    const first = await queue1.add('first', { n: 1 })
    await queue1.add('second', { n: 2 })
    await queue1.add('third', { n: 3 })
    await queue1.add('later', { n: 4 }, { delay: 60_000 })
    await queue1.add('urgent', { n: 5 }, { priority: 1 })
    const worker1 = new Worker('durable', null, { connection }, factory1)
    const claimed = (await worker1.getNextJob('tok')) as Job
    expect(claimed.id).toBe(first.id)
    await claimed.moveToCompleted({ ok: true }, 'tok', false)
    await claimed.log('a line')
    await worker1.close()
    await queue1.close()
    await storage1.close()

    const storage2 = fileStorage({ dir })
    const factory2 = bullmqBackend({ storage: storage2 })
    const queue2 = new Queue('durable', { connection }, factory2)
    expect(await queue2.getJobCounts('wait', 'delayed', 'prioritized', 'completed')).toEqual({ wait: 2, delayed: 1, prioritized: 1, completed: 1 })
    const done = await queue2.getJob(first.id!)
    expect(done?.returnvalue).toEqual({ ok: true })
    expect((await queue2.getJobLogs(first.id!)).logs).toEqual(['a line'])
    const worker2 = new Worker('durable', null, { connection }, factory2)
    const names: string[] = []
    for (let i = 0; i < 3; i++) {
      const job = (await worker2.getNextJob(`t${i}`)) as Job
      names.push(job.name)
      await job.moveToCompleted(null, `t${i}`, false)
    }
    // wait is FIFO and comes before prioritized, as on Redis
    expect(names).toEqual(['second', 'third', 'urgent'])
    // the id counter survived: a new job does not reuse an id
    const next = await queue2.add('fifth', {})
    expect(Number(next.id)).toBe(6)
    await worker2.close()
    await queue2.close()
    await storage2.close()
  })

  it('keeps the wait order when each of several restarts adds jobs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-test-'))
    dirs.push(dir)
    // A list loaded from the places an earlier process wrote, pushed to, then loaded again: the
    // new jobs' places must fall beyond the loaded ones (they were renumbered from 1 at load, so
    // a job added after two restarts went before older ones).
    const adds = [['a', 'b', 'c'], ['d'], ['e'], []]
    for (const [n, names] of adds.entries()) {
      const storage = fileStorage({ dir })
      const factory = bullmqBackend({ storage })
      const queue = new Queue('order', { connection }, factory)
      for (const name of names) await queue.add(name, {})
      await queue.add('lifo', { n }, { lifo: true })
      if (n === adds.length - 1) {
        // In the order a worker takes them: lifo adds (the newest first), then plain adds (the oldest first).
        const waiting = await queue.getWaiting()
        expect(waiting.map((j) => j.name)).toEqual(['lifo', 'lifo', 'lifo', 'lifo', 'a', 'b', 'c', 'd', 'e'])
        expect(waiting.slice(0, 4).map((j) => (j.data as { n: number }).n)).toEqual([3, 2, 1, 0])
        const worker = new Worker('order', null, { connection }, factory)
        const taken: string[] = []
        for (let i = 0; i < 9; i++) taken.push(((await worker.getNextJob(`t${i}`)) as Job).id!)
        expect(taken).toEqual(waiting.map((j) => j.id))
        await worker.close()
      }
      await queue.close()
      await storage.close()
    }
  })
})
