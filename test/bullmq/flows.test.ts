/** Flows across queues: dependencies, the four failure policies, WaitingChildrenError. */
import { WaitingChildrenError } from 'bullmq'
import type { Job, JobNode } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, until, useBull } from './harness.js'

/** The key a parent uses for a child: its queue's qualified name and its id. */
const keyOf = (job: Job): string => `${job.queueQualifiedName}:${job.id!}`
const child = (tree: JobNode, i: number): Job => tree.children![i]!.job

describe.each(backends)('BullMQ flows on $name', (backend) => {
  const bull = useBull(backend)
  const parentsOf = (): string => `${bull.name}-parents`
  const childrenOf = (): string => `${bull.name}-children`

  it('a parent waits in waiting-children until its children (in another queue) complete, then sees their values', async () => {
    const flow = bull.flow()
    const parents = bull.queue(parentsOf())
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      data: { p: 1 },
      children: [
        { name: 'c1', queueName: childrenOf(), data: 1 },
        { name: 'c2', queueName: childrenOf(), data: 2 },
      ],
    })
    expect(await tree.job.getState()).toBe('waiting-children')
    expect(await parents.getJobCounts('waiting-children', 'wait')).toEqual({ 'waiting-children': 1, wait: 0 })
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 2, ignored: 0, failed: 0 })
    const before = await tree.job.getDependencies()
    expect(before.processed).toEqual({})
    expect(before.unprocessed?.sort()).toEqual([keyOf(child(tree, 0)), keyOf(child(tree, 1))].sort())
    expect(child(tree, 0).parentKey).toBe(keyOf(tree.job))

    const childWorker = bull.worker(childrenOf(), async (job) => (job.data as number) * 10)
    await finished(childWorker, 2)
    expect(await tree.job.getState()).toBe('waiting')
    const after = await tree.job.getDependencies()
    expect(after.processed).toEqual({ [keyOf(child(tree, 0))]: 10, [keyOf(child(tree, 1))]: 20 })
    expect(after.unprocessed).toEqual([])
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 2, unprocessed: 0, ignored: 0, failed: 0 })

    const parentWorker = bull.worker(parentsOf(), async (job) => job.getChildrenValues())
    const [done] = await finished(parentWorker, 1)
    expect(done?.returnvalue).toEqual({ [keyOf(child(tree, 0))]: 10, [keyOf(child(tree, 1))]: 20 })
  })

  it('getDependencies pages through many children with cursors', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: Array.from({ length: 30 }, (_, n) => ({ name: `c${String(n)}`, queueName: childrenOf(), data: n })),
    })
    const all = new Set(tree.children!.map((c) => keyOf(c.job)))
    const seen = new Set<string>()
    let cursor = 0
    let pages = 0
    do {
      const page = await tree.job.getDependencies({ unprocessed: { cursor, count: 10 } })
      for (const key of page.unprocessed ?? []) seen.add(key)
      cursor = page.nextUnprocessedCursor ?? 0
      pages++
    } while (cursor !== 0 && pages < 100)
    expect(seen).toEqual(all)
    expect(pages).toBeGreaterThan(1)

    const childWorker = bull.worker(childrenOf(), async (job) => job.data as number)
    await finished(childWorker, 30)
    const values: Record<string, unknown> = {}
    cursor = 0
    pages = 0
    do {
      const page = await tree.job.getDependencies({ processed: { cursor, count: 10 } })
      Object.assign(values, page.processed)
      cursor = page.nextProcessedCursor ?? 0
      pages++
    } while (cursor !== 0 && pages < 100)
    expect(Object.keys(values).sort()).toEqual([...all].sort())
    expect(Object.values(values).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 30 }, (_, n) => n))
  })

  it('a flow added again under the same parent id adds its children to the existing parent', async () => {
    const flow = bull.flow()
    const first = await flow.add({ name: 'parent', queueName: parentsOf(), opts: { jobId: 'P' }, children: [{ name: 'c1', queueName: childrenOf() }] })
    const second = await flow.add({ name: 'parent', queueName: parentsOf(), opts: { jobId: 'P' }, children: [{ name: 'c2', queueName: childrenOf() }] })
    expect(second.job.id).toBe('P')
    expect(await bull.queue(parentsOf()).getJobCounts('waiting-children', 'wait')).toEqual({ 'waiting-children': 1, wait: 0 })
    expect(await first.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 2, ignored: 0, failed: 0 })
  })

  it('addBulk adds several flows at once', async () => {
    const flow = bull.flow()
    const trees = await flow.addBulk([
      { name: 'a', queueName: parentsOf(), children: [{ name: 'a1', queueName: childrenOf() }] },
      { name: 'b', queueName: parentsOf() },
    ])
    expect(trees.map((t) => t.job.name)).toEqual(['a', 'b'])
    expect(await trees[0]!.job.getState()).toBe('waiting-children')
    expect(await trees[1]!.job.getState()).toBe('waiting')
    expect(await bull.queue(childrenOf()).count()).toBe(1)
  })

  it('removeChildDependency detaches a pending child; the parent runs without it', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [{ name: 'detached', queueName: childrenOf(), opts: { delay: 60_000 } }],
    })
    const detached = child(tree, 0)
    expect(await detached.removeChildDependency()).toBe(true)
    expect(await tree.job.getState()).toBe('waiting')
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, ignored: 0, failed: 0 })
    expect(await detached.getState()).toBe('delayed')
    expect((await bull.queue(childrenOf()).getJob(detached.id!))?.parentKey).toBeUndefined()
  })

  it('getFlow returns the tree; a grandchild must finish before its parent runs', async () => {
    const flow = bull.flow()
    const order: string[] = []
    const tree = await flow.add({
      name: 'root',
      queueName: parentsOf(),
      children: [{ name: 'mid', queueName: childrenOf(), children: [{ name: 'leaf', queueName: childrenOf() }] }],
    })
    const read = await flow.getFlow({ id: tree.job.id!, queueName: parentsOf(), prefix: tree.job.prefix })
    expect(read.job.name).toBe('root')
    expect(read.children?.map((c) => c.job.name)).toEqual(['mid'])
    expect(read.children?.[0]?.children?.map((c) => c.job.name)).toEqual(['leaf'])
    const record = async (job: Job): Promise<void> => {
      order.push(job.name)
    }
    const childWorker = bull.worker(childrenOf(), record)
    const parentWorker = bull.worker(parentsOf(), record)
    await Promise.all([finished(childWorker, 2), finished(parentWorker, 1)])
    expect(order).toEqual(['leaf', 'mid', 'root'])
  })

  it('without a policy, a failed child leaves its parent in waiting-children', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [{ name: 'bad', queueName: childrenOf() }],
    })
    const childWorker = bull.worker(childrenOf(), async () => {
      throw new Error('child broke')
    })
    await finished(childWorker, 1)
    expect(await tree.job.getState()).toBe('waiting-children')
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 1, ignored: 0, failed: 0 })
  })

  it('failParentOnFailure: the parent fails with "child <key> failed" and never runs', async () => {
    const flow = bull.flow()
    const parents = bull.queue(parentsOf())
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [
        { name: 'bad', queueName: childrenOf(), opts: { failParentOnFailure: true } },
        { name: 'slow', queueName: childrenOf(), opts: { delay: 60_000 } },
      ],
    })
    let parentRan = false
    bull.worker(parentsOf(), async () => {
      parentRan = true
    })
    const childWorker = bull.worker(childrenOf(), async () => {
      throw new Error('child broke')
    })
    await finished(childWorker, 1)
    await until(async () => (await tree.job.getState()) === 'failed')
    const parent = (await parents.getJob(tree.job.id!))!
    expect(parent.failedReason).toBe(`child ${keyOf(child(tree, 0))} failed`)
    expect(parentRan).toBe(false)
    expect((await tree.job.getDependencies()).failed).toEqual([keyOf(child(tree, 0))])
  })

  it('ignoreDependencyOnFailure: the parent runs once the others complete, and can read the ignored failure', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [
        { name: 'bad', queueName: childrenOf(), opts: { ignoreDependencyOnFailure: true } },
        { name: 'good', queueName: childrenOf() },
      ],
    })
    const childWorker = bull.worker(childrenOf(), async (job) => {
      if (job.name === 'bad') throw new Error('ignored failure')
      return 'fine'
    })
    await finished(childWorker, 2)
    const parentWorker = bull.worker(parentsOf(), async (job) => ({ values: await job.getChildrenValues(), ignored: await job.getIgnoredChildrenFailures() }))
    const [done] = await finished(parentWorker, 1)
    expect(done?.returnvalue).toEqual({
      values: { [keyOf(child(tree, 1))]: 'fine' },
      ignored: { [keyOf(child(tree, 0))]: 'ignored failure' },
    })
    const deps = await tree.job.getDependencies()
    expect(deps.ignored).toEqual({ [keyOf(child(tree, 0))]: 'ignored failure' })
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 1, unprocessed: 0, ignored: 1, failed: 0 })
  })

  it('removeDependencyOnFailure: the failed child is dropped from the dependencies and the parent runs', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [
        { name: 'bad', queueName: childrenOf(), opts: { removeDependencyOnFailure: true } },
        { name: 'good', queueName: childrenOf() },
      ],
    })
    const childWorker = bull.worker(childrenOf(), async (job) => {
      if (job.name === 'bad') throw new Error('removed failure')
      return 'fine'
    })
    await finished(childWorker, 2)
    expect(await tree.job.getState()).toBe('waiting')
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 1, unprocessed: 0, ignored: 0, failed: 0 })
    const parentWorker = bull.worker(parentsOf(), async (job) => ({ values: await job.getChildrenValues(), ignored: await job.getIgnoredChildrenFailures() }))
    const [done] = await finished(parentWorker, 1)
    expect(done?.returnvalue).toEqual({ values: { [keyOf(child(tree, 1))]: 'fine' }, ignored: {} })
  })

  it('continueParentOnFailure: the parent runs at once, sees the failure, and removes the unprocessed children', async () => {
    const flow = bull.flow()
    const children = bull.queue(childrenOf())
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [
        { name: 'bad', queueName: childrenOf(), opts: { continueParentOnFailure: true } },
        { name: 'later', queueName: childrenOf(), opts: { delay: 60_000 } },
      ],
    })
    const childWorker = bull.worker(childrenOf(), async () => {
      throw new Error('continue anyway')
    })
    await finished(childWorker, 1)
    expect(await tree.job.getState()).toBe('waiting')
    const parentWorker = bull.worker(parentsOf(), async (job) => {
      const failed = await job.getFailedChildrenValues()
      await job.removeUnprocessedChildren()
      return failed
    })
    const [done] = await finished(parentWorker, 1)
    expect(done?.returnvalue).toEqual({ [keyOf(child(tree, 0))]: 'continue anyway' })
    expect(await children.getJob(child(tree, 1).id!)).toBeUndefined()
    expect(await children.getDelayedCount()).toBe(0)
  })

  it('retrying a child whose failure was ignored puts it back among the pending dependencies', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'parent',
      queueName: parentsOf(),
      children: [
        { name: 'flaky', queueName: childrenOf(), opts: { ignoreDependencyOnFailure: true } },
        { name: 'later', queueName: childrenOf(), opts: { delay: 60_000 } },
      ],
    })
    const failing = bull.worker(childrenOf(), async () => {
      throw new Error('first try')
    })
    await finished(failing, 1)
    // Closed before the retry: a worker still there could take the retried child before the count.
    await failing.close()
    const flaky = child(tree, 0)
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 1, ignored: 1, failed: 0 })
    await (await bull.queue(childrenOf()).getJob(flaky.id!))!.retry('failed')
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 2, ignored: 0, failed: 0 })
    await finished(
      bull.worker(childrenOf(), async () => 'second try'),
      1,
    )
    expect((await tree.job.getDependencies()).processed).toEqual({ [keyOf(flaky)]: 'second try' })
    expect(await tree.job.getState()).toBe('waiting-children')
  })

  it('QueueEvents reports a parent waiting for its children, then waiting once they are done', async () => {
    const flow = bull.flow()
    const events = await bull.events(parentsOf())
    const log: string[] = []
    events.on('waiting-children', ({ jobId }) => log.push(`waiting-children:${jobId}`))
    events.on('waiting', ({ jobId, prev }) => log.push(`waiting:${jobId}:${String(prev)}`))
    const tree = await flow.add({ name: 'parent', queueName: parentsOf(), children: [{ name: 'c', queueName: childrenOf() }] })
    const childWorker = bull.worker(childrenOf(), async () => 'ok')
    await finished(childWorker, 1)
    await until(() => log.length === 2)
    expect(log).toEqual([`waiting-children:${tree.job.id!}`, `waiting:${tree.job.id!}:waiting-children`])
  })

  it('failures propagate up: a grandchild with failParentOnFailure fails its parent, which fails the root', async () => {
    const flow = bull.flow()
    const tree = await flow.add({
      name: 'root',
      queueName: parentsOf(),
      children: [
        {
          name: 'mid',
          queueName: childrenOf(),
          opts: { failParentOnFailure: true },
          children: [{ name: 'leaf', queueName: childrenOf(), opts: { failParentOnFailure: true } }],
        },
      ],
    })
    bull.worker(parentsOf(), async () => 'root ran')
    bull.worker(childrenOf(), async (job) => {
      if (job.name === 'leaf') throw new Error('leaf broke')
      return 'mid ran'
    })
    await until(async () => (await tree.job.getState()) === 'failed')
    const mid = child(tree, 0)
    expect(await mid.getState()).toBe('failed')
    const root = (await bull.queue(parentsOf()).getJob(tree.job.id!))!
    expect(root.failedReason).toBe(`child ${keyOf(mid)} failed`)
  })

  it('WaitingChildrenError: a processor adds children, waits for them, and runs again when they are done', async () => {
    const parents = bull.queue(parentsOf())
    const children = bull.queue(childrenOf())
    await parents.add('parent', { step: 'spawn' })
    const steps: string[] = []
    const parentWorker = bull.worker(parentsOf(), async (job, token) => {
      const { step } = job.data as { step: string }
      steps.push(step)
      if (step === 'spawn') {
        await children.add('kid', 21, { parent: { id: job.id!, queue: job.queueQualifiedName } })
        await job.updateData({ step: 'collect' })
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError()
      }
      return Object.values(await job.getChildrenValues())
    })
    await until(async () => (await parents.getJobState('1')) === 'waiting-children')
    bull.worker(childrenOf(), async (job) => (job.data as number) * 2)
    const [done] = await finished(parentWorker, 1)
    expect(steps).toEqual(['spawn', 'collect'])
    expect(done?.returnvalue).toEqual([42])
    expect(done?.attemptsMade).toBe(1)
  })
})
