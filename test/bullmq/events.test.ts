/** QueueEvents: order, resumable ids, waitUntilFinished, custom events; worker events; metrics. */
import { MetricsTime } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, once, until, useBull } from './harness.js'
import type { BullEvents } from './harness.js'

const NAMES = ['added', 'waiting', 'active', 'progress', 'completed', 'failed', 'delayed', 'retries-exhausted', 'removed', 'drained'] as const

/** Every event of `names` as `name:jobId`, in the order QueueEvents emits them, with its stream id. */
function record(events: BullEvents): { log: string[]; ids: string[] } {
  const log: string[] = []
  const ids: string[] = []
  for (const name of NAMES) {
    // `drained` passes only the id; the others pass their fields, then the id.
    events.on(name, ((args: { jobId?: string } | string, id?: string) => {
      if (typeof args === 'string') {
        log.push(name)
        ids.push(args)
      } else {
        log.push(args.jobId === undefined ? name : `${name}:${args.jobId}`)
        ids.push(id!)
      }
    }) as never)
  }
  return { log, ids }
}

/** Compares two event ids numerically: they are Redis stream ids, `<ms>-<seq>`. */
function idBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number)
  const [bm, bs] = b.split('-').map(Number)
  return am! < bm! || (am === bm && as! < bs!)
}

describe.each(backends)('BullMQ events on $name', (backend) => {
  const bull = useBull(backend)

  it('QueueEvents sees each job’s events in the order they happened, with increasing ids', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const { log, ids } = record(events)
    await queue.add('ok', null)
    await queue.add('bad', null, { attempts: 2, backoff: { type: 'fixed', delay: 50 } })
    const worker = bull.worker(bull.name, async (job) => {
      if (job.name === 'bad') throw new Error('no')
      await job.updateProgress(7)
      return 'fine'
    })
    await finished(worker, 3)
    await until(() => log.includes('retries-exhausted:2') && log.includes('drained'))
    const of = (jobId: string): string[] => log.filter((e) => e.endsWith(`:${jobId}`)).map((e) => e.split(':')[0]!)
    expect(of('1')).toEqual(['added', 'waiting', 'active', 'progress', 'completed'])
    // A failed attempt with a backoff is only `delayed`; the last one is `failed`, then `retries-exhausted`.
    expect(of('2')).toEqual(['added', 'waiting', 'active', 'delayed', 'waiting', 'active', 'failed', 'retries-exhausted'])
    for (const id of ids) expect(id).toMatch(/^\d+-\d+$/)
    for (let i = 1; i < ids.length; i++) expect(idBefore(ids[i - 1]!, ids[i]!)).toBe(true)
  })

  it('event payloads carry what a listener reads', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const added = once(events, 'added')
    const completed = once(events, 'completed')
    const delayed = once(events, 'delayed')
    const job = await queue.add('named', { a: 1 })
    const later = await queue.add('later', null, { delay: 60_000 })
    bull.worker(bull.name, async () => ({ answer: 42 }))
    expect((await added)[0]).toEqual({ jobId: job.id, name: 'named' })
    expect((await completed)[0]).toEqual({ jobId: job.id, returnvalue: { answer: 42 }, prev: 'active' })
    expect((await delayed)[0]).toEqual({ jobId: later.id, delay: later.timestamp + 60_000 })
  })

  it('a QueueEvents without lastEventId sees only what happens after it starts reading', async () => {
    const queue = bull.queue()
    const before = await queue.add('before', null)
    // The harness reads from the start; here BullMQ's default ('$', from now) is the point.
    const events = await bull.events(bull.name, { lastEventId: undefined })
    const seen: string[] = []
    events.on('added', ({ jobId }) => seen.push(jobId))
    // Its first read may start a little later: add until one add is seen.
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      await queue.add('after', null)
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(seen.length).toBeGreaterThan(0)
    expect(seen).not.toContain(before.id)
  })

  it('a QueueEvents started with lastEventId sees only the events after it', async () => {
    const queue = bull.queue()
    const first = await bull.events()
    const firstAdded = once(first, 'added')
    await queue.add('a', null)
    const [, id] = await firstAdded
    await queue.add('b', null)
    const resumed = await bull.events(bull.name, { lastEventId: id })
    const { log } = record(resumed)
    await until(() => log.includes('waiting:2'))
    expect(log).toEqual(['waiting:1', 'added:2', 'waiting:2'])
  })

  it('trimEvents drops the oldest events of the stream and keeps the newest', async () => {
    const queue = bull.queue()
    await queue.addBulk(Array.from({ length: 300 }, (_, n) => ({ name: 'x', data: n })))
    // 600 events (added, waiting). Redis trims approximately (whole stream nodes of 100 entries),
    // so it keeps at least 10 and removes most.
    const removed = await queue.trimEvents(10)
    expect(removed).toBeGreaterThanOrEqual(490)
    expect(removed).toBeLessThanOrEqual(590)
    const events = await bull.events()
    const { log } = record(events)
    await until(() => log.includes('waiting:300'))
    expect(log).toHaveLength(600 - removed)
    expect(log.at(-1)).toBe('waiting:300')
    expect(log).not.toContain('added:1')
  })

  it('waitUntilFinished resolves with the return value, rejects with the failure, and works after the fact', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const ok = await queue.add('ok', 2)
    const bad = await queue.add('bad', 0)
    bull.worker(bull.name, async (job) => {
      if (job.name === 'bad') throw new Error('it broke')
      return (job.data as number) * 21
    })
    await expect(ok.waitUntilFinished(events)).resolves.toBe(42)
    await expect(bad.waitUntilFinished(events)).rejects.toThrow('it broke')
    // Both are finished already: the answer comes from the stored job, not an event.
    await expect(ok.waitUntilFinished(events)).resolves.toBe(42)
    await expect(bad.waitUntilFinished(events)).rejects.toThrow('it broke')
  })

  it('waitUntilFinished times out with the exact message', async () => {
    const queue = bull.queue()
    const events = await bull.events()
    const job = await queue.add('never', null)
    await expect(job.waitUntilFinished(events, 100)).rejects.toThrow(
      `Job wait never timed out before finishing, no finish notification arrived after 100ms (id=${job.id!})`,
    )
  })

  it('custom events published by a QueueEventsProducer reach QueueEvents', async () => {
    const events = await bull.events()
    const producer = bull.producer()
    const custom = new Promise<unknown>((resolve) => events.on('report' as never, ((args: unknown) => resolve(args)) as never))
    await producer.publishEvent({ eventName: 'report', detail: 'x', count: 2 } as never)
    // The event's name is taken out of its fields; values come back as strings.
    expect(await custom).toEqual({ detail: 'x', count: '2' })
  })

  it('a worker emits active, progress, completed and drained', async () => {
    const queue = bull.queue()
    await queue.add('a', null)
    const seen: string[] = []
    const worker = bull.worker(bull.name, async (job) => {
      await job.updateProgress(1)
      return 'r'
    })
    worker.on('active', (job) => seen.push(`active:${job.id!}`))
    worker.on('progress', (job, p) => seen.push(`progress:${job.id!}:${String(p)}`))
    worker.on('completed', (job, r) => seen.push(`completed:${job.id!}:${String(r)}`))
    const drained = new Promise<void>((r) => worker.once('drained', () => r()))
    await drained
    expect(seen).toEqual(['active:1', 'progress:1:1', 'completed:1:r'])
  })

  it('getWorkers and getQueueEvents list what is connected to the queue, by name', async () => {
    const queue = bull.queue()
    const named = bull.worker(bull.name, async () => undefined, { name: 'mailer' })
    const other = bull.worker(bull.name, async () => undefined)
    await Promise.all([named.waitUntilReady(), other.waitUntilReady()])
    await bull.events()
    await until(async () => (await queue.getWorkersCount()) === 2)
    const workers = await queue.getWorkers()
    expect(workers.map((w) => w.name)).toEqual([bull.name, bull.name])
    expect(workers.filter((w) => w.rawname?.endsWith(':w:mailer'))).toHaveLength(1)
    expect((await queue.getQueueEvents()).map((e) => e.name)).toEqual([bull.name])
    await other.close()
    await until(async () => (await queue.getWorkersCount()) === 1)
  })

  it('metrics count completed and failed jobs per minute when the worker keeps them', async () => {
    const queue = bull.queue()
    await queue.addBulk(['ok', 'ok', 'ok', 'bad'].map((name) => ({ name, data: null })))
    const worker = bull.worker(
      bull.name,
      async (job) => {
        if (job.name === 'bad') throw new Error('no')
      },
      { metrics: { maxDataPoints: MetricsTime.ONE_HOUR } },
    )
    await finished(worker, 4)
    const completed = await queue.getMetrics('completed')
    const failed = await queue.getMetrics('failed')
    expect(completed.meta.count).toBe(3)
    expect(failed.meta.count).toBe(1)
    const none = bull.queue(`${bull.name}-no-metrics`)
    expect((await none.getMetrics('completed')).meta.count).toBe(0)
  })
})
