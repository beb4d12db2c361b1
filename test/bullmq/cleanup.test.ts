/** clean, drain, obliterate and remove (with and without children). */
import type { FlowJob } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { type Bull, finished, once, useBull } from './harness.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Child {
  name: string
  children?: Child[]
}

/**
 * The tree the removal tests start from: a parent in the queue `<name>-parents` over `kids` (and
 * theirs) in the queue `<name>-children`, added by a flow producer the test can use again.
 */
async function twoQueueTree(bull: Bull, kids: Child[]) {
  const flow = bull.flow()
  const children = bull.queue(`${bull.name}-children`)
  const parents = bull.queue(`${bull.name}-parents`)
  const inChildren = (c: Child): FlowJob => ({ name: c.name, queueName: children.name, ...(c.children ? { children: c.children.map(inChildren) } : {}) })
  const tree = await flow.add({ name: 'parent', queueName: parents.name, children: kids.map(inChildren) })
  return { flow, children, parents, tree }
}

describe.each(backends)('BullMQ clean, drain, obliterate and remove on $name', (backend) => {
  const bull = useBull(backend)

  it('clean removes finished jobs older than the grace period, up to the limit, and emits cleaned', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'old', data: n })))
    const worker = bull.worker(bull.name, async (job) => job.data)
    await finished(worker, 3)
    // The grace is wide so a slow disk under load cannot age the new job past it mid-test.
    await sleep(1_000)
    await queue.add('new', 4)
    await finished(worker, 1)
    const cleaned = once(events, 'cleaned')
    const removed = await queue.clean(600, 2, 'completed')
    expect(removed).toHaveLength(2)
    expect((await cleaned)[0]).toEqual({ count: '2' })
    expect(await queue.getCompletedCount()).toBe(2)
    const rest = await queue.clean(600, 0, 'completed')
    expect(rest).toHaveLength(1)
    expect((await queue.getCompleted()).map((j) => j.name)).toEqual(['new'])
    for (const id of [...removed, ...rest]) expect(await queue.getJob(id)).toBeUndefined()
  })

  it('clean works on waiting, delayed and failed jobs too', async () => {
    const queue = bull.queue()
    await queue.add('w', null)
    await queue.add('d', null, { delay: 60_000 })
    await sleep(50)
    expect(await queue.clean(0, 0, 'wait')).toHaveLength(1)
    expect(await queue.clean(0, 0, 'delayed')).toHaveLength(1)
    await queue.add('f', null)
    const worker = bull.worker(bull.name, async () => {
      throw new Error('no')
    })
    await finished(worker, 1)
    expect(await queue.clean(0, 0, 'failed')).toHaveLength(1)
    expect(await queue.getJobCounts('wait', 'delayed', 'failed')).toEqual({ wait: 0, delayed: 0, failed: 0 })
  })

  it('drain empties wait and prioritized; delayed jobs go only when asked', async () => {
    const queue = bull.queue()
    await queue.add('w', null)
    await queue.add('p', null, { priority: 2 })
    await queue.add('d', null, { delay: 60_000 })
    await queue.drain()
    expect(await queue.getJobCounts('wait', 'prioritized', 'delayed')).toEqual({ wait: 0, prioritized: 0, delayed: 1 })
    expect(await queue.getJob('1')).toBeUndefined()
    await queue.drain(true)
    expect(await queue.getDelayedCount()).toBe(0)
  })

  it('drain leaves active and finished jobs alone', async () => {
    const queue = bull.queue()
    await queue.addBulk([
      { name: 'done', data: null },
      { name: 'busy', data: null },
      { name: 'waiting', data: null },
    ])
    const manual = bull.worker(bull.name, null)
    const done = (await manual.getNextJob('t'))!
    await done.moveToCompleted('ok', 't', false)
    const busy = (await manual.getNextJob('t'))!
    await queue.drain()
    expect(await queue.getJobCounts('wait', 'active', 'completed')).toEqual({ wait: 0, active: 1, completed: 1 })
    expect(await busy.getState()).toBe('active')
  })

  it('drain removes waiting children from their parents, which then run', async () => {
    const { children, tree } = await twoQueueTree(bull, [{ name: 'c1' }, { name: 'c2' }])
    await children.drain()
    expect(await children.count()).toBe(0)
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, ignored: 0, failed: 0 })
    expect(await tree.job.getState()).toBe('waiting')
  })

  it('obliterate refuses while jobs are active, unless forced, and then leaves nothing', async () => {
    const queue = bull.queue()
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'x', data: n })))
    await queue.add('d', null, { delay: 60_000 })
    await queue.upsertJobScheduler('s', { every: 60_000, startDate: Date.now() + 60_000 })
    const manual = bull.worker(bull.name, null)
    await manual.getNextJob('t')
    await expect(queue.obliterate()).rejects.toThrow('Cannot obliterate queue with active jobs')
    await queue.obliterate({ force: true })
    expect(await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed')).toEqual({ wait: 0, active: 0, delayed: 0, completed: 0, failed: 0 })
    expect(await queue.getJobSchedulersCount()).toBe(0)
    expect(await queue.getJob('1')).toBeUndefined()
  })

  it('remove deletes a job and emits removed', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const job = await queue.add('x', null)
    const removed = once(events, 'removed')
    await job.remove()
    expect((await removed)[0]).toEqual({ jobId: job.id, prev: 'wait' })
    expect(await queue.getJob(job.id!)).toBeUndefined()
    expect(await queue.count()).toBe(0)
  })

  it('removing a parent removes its children, across queues', async () => {
    const { children, parents, tree } = await twoQueueTree(bull, [{ name: 'c1' }, { name: 'c2', children: [{ name: 'gc' }] }])
    // count() includes waiting-children (c2) as well as waiting (c1, gc).
    expect(await children.count()).toBe(3)
    await tree.job.remove()
    expect(await parents.getJob(tree.job.id!)).toBeUndefined()
    expect(await children.getJobCounts('wait', 'waiting-children')).toEqual({ wait: 0, 'waiting-children': 0 })
  })

  it('removeChildren: false keeps the children; removing the last pending child releases the parent', async () => {
    const { flow, children, parents, tree } = await twoQueueTree(bull, [{ name: 'only' }])
    const only = tree.children![0]!.job
    await only.remove()
    expect(await tree.job.getState()).toBe('waiting')
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, ignored: 0, failed: 0 })

    const second = await flow.add({ name: 'parent2', queueName: parents.name, children: [{ name: 'kept', queueName: children.name }] })
    await parents.remove(second.job.id!, { removeChildren: false })
    expect(await parents.getJob(second.job.id!)).toBeUndefined()
    expect(await second.children![0]!.job.getState()).toBe('waiting')
  })

  it('a locked job cannot be removed, nor a parent whose child is locked', async () => {
    const { children, parents, tree } = await twoQueueTree(bull, [{ name: 'c' }])
    const manual = bull.worker(children.name, null)
    const taken = (await manual.getNextJob('t'))!
    expect(taken.id).toBe(tree.children![0]!.job.id)
    expect(await parents.remove(tree.job.id!)).toBe(0)
    expect(await tree.job.getState()).toBe('waiting-children')
    await expect(taken.remove()).rejects.toThrow(`Job ${taken.id!} could not be removed because it is locked by another worker`)
  })
})
