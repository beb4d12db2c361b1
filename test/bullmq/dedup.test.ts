/** Deduplication (simple, throttle with ttl, keepLastIfActive) and debounce (extend + replace). */
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, until, useBull } from './harness.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe.each(backends)('BullMQ deduplication on $name', (backend) => {
  const bull = useBull(backend)

  it('a duplicate of an unfinished job is dropped, with a deduplicated event; once it finishes the id is free', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const deduplicated: unknown[] = []
    events.on('deduplicated', (args) => deduplicated.push(args))
    const first = await queue.add('x', 1, { deduplication: { id: 'd' } })
    const second = await queue.add('x', 2, { deduplication: { id: 'd' } })
    expect(second.id).toBe(first.id)
    expect(await queue.count()).toBe(1)
    expect((await queue.getJob(first.id!))?.data).toBe(1)
    expect(await queue.getDeduplicationJobId('d')).toBe(first.id)
    expect(first.deduplicationId).toBe('d')
    const worker = bull.worker(bull.name, async (job) => job.data)
    await finished(worker, 1)
    expect(await queue.getDeduplicationJobId('d')).toBeNull()
    const third = await queue.add('x', 3, { deduplication: { id: 'd' } })
    expect(third.id).not.toBe(first.id)
    await finished(worker, 1)
    await sleep(50)
    expect(deduplicated).toEqual([{ jobId: first.id, deduplicationId: 'd', deduplicatedJobId: '2' }])
  })

  it('with a ttl, duplicates are dropped for that long even after the job finished', async () => {
    const queue = bull.queue()
    const first = await queue.add('x', 1, { deduplication: { id: 't', ttl: 300 } })
    const worker = bull.worker(bull.name, async (job) => job.data)
    await finished(worker, 1)
    expect((await queue.add('x', 2, { deduplication: { id: 't', ttl: 300 } })).id).toBe(first.id)
    await sleep(350)
    const later = await queue.add('x', 3, { deduplication: { id: 't', ttl: 300 } })
    expect(later.id).not.toBe(first.id)
    await finished(worker, 1)
    expect((await queue.getCompleted()).map((j) => j.data).sort()).toEqual([1, 3])
  })

  it('removing the job frees its deduplication id', async () => {
    const queue = bull.queue()
    const first = await queue.add('x', 1, { deduplication: { id: 'gone' } })
    await first.remove()
    expect(await queue.getDeduplicationJobId('gone')).toBeNull()
    const second = await queue.add('x', 2, { deduplication: { id: 'gone' } })
    expect(second.id).not.toBe(first.id)
    expect(await queue.count()).toBe(1)
  })

  it('removeDeduplicationKey frees the id while the job is still waiting', async () => {
    const queue = bull.queue()
    const first = await queue.add('x', 1, { deduplication: { id: 'r' } })
    expect(await queue.removeDeduplicationKey('r')).toBe(1)
    expect(await queue.removeDeduplicationKey('r')).toBe(0)
    const second = await queue.add('x', 2, { deduplication: { id: 'r' } })
    expect(second.id).not.toBe(first.id)
    expect(await queue.count()).toBe(2)
  })

  it('debounce (extend + replace): bursts of adds leave one delayed job with the last data, run once', async () => {
    const queue = bull.queue()
    const opts = { delay: 250, deduplication: { id: 'deb', ttl: 250, extend: true, replace: true } }
    const first = await queue.add('x', 1, opts)
    await sleep(100)
    await queue.add('x', 2, opts)
    await sleep(100)
    const last = await queue.add('x', 3, opts)
    expect(await queue.getDelayedCount()).toBe(1)
    const [job] = await queue.getDelayed()
    expect(job?.data).toBe(3)
    expect(job?.id).toBe(last.id)
    const ran: number[] = []
    const worker = bull.worker(bull.name, async (j) => {
      ran.push(j.data as number)
      return Date.now()
    })
    const [done] = await finished(worker, 1)
    // The delay counts from the last add, not the first.
    expect(done?.returnvalue as number).toBeGreaterThanOrEqual(first.timestamp + 450)
    await sleep(100)
    expect(ran).toEqual([3])
  })

  it('keepLastIfActive: a duplicate of the active job is kept (the last one only) and runs after it', async () => {
    const queue = bull.queue()
    const opts = { deduplication: { id: 'k', keepLastIfActive: true } }
    await queue.add('x', 1, opts)
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const started = new Promise<void>((resolveStarted) => {
      bull.worker(bull.name, async (job) => {
        resolveStarted()
        if (job.data === 1) await gate
        return job.data
      })
    })
    await started
    await queue.add('x', 2, opts)
    await queue.add('x', 3, opts)
    expect(await queue.getWaitingCount()).toBe(0)
    release()
    await until(async () => (await queue.getCompletedCount()) === 2)
    expect((await queue.getCompleted()).map((j) => j.data).sort()).toEqual([1, 3])
  })
})
