/** Job schedulers: every, cron with a time zone, upsert, limits, iterations and removal. */
import { describe, expect, it } from 'vitest'
import { backends } from './backends.js'
import { finished, useBull } from './harness.js'

const HOUR = 3_600_000

describe.each(backends)('BullMQ job schedulers on $name', (backend) => {
  const bull = useBull(backend)

  it('an every scheduler runs its template now and then every interval, each iteration a job of its own', async () => {
    const queue = bull.queue()
    const first = (await queue.upsertJobScheduler('tick', { every: 200 }, { name: 'tick-job', data: { n: 1 }, opts: { attempts: 2 } }))!
    expect(first.name).toBe('tick-job')
    expect(first.id).toMatch(/^repeat:tick:\d+$/)
    expect(first.repeatJobKey).toBe('tick')
    const worker = bull.worker(bull.name, async (job) => ({ id: job.id, data: job.data, attempts: job.opts.attempts, at: Date.now() }))
    const jobs = await finished(worker, 3)
    const results = jobs.map((j) => j.returnvalue as { id: string; data: unknown; attempts: number; at: number })
    expect(new Set(results.map((r) => r.id)).size).toBe(3)
    for (const r of results) expect(r).toMatchObject({ data: { n: 1 }, attempts: 2 })
    const millis = results.map((r) => Number(r.id.split(':')[2]))
    expect(millis[1]! - millis[0]!).toBe(200)
    expect(millis[2]! - millis[1]!).toBe(200)
    // No iteration runs before its slot (a late one may run close to the next: no gap asserted).
    for (const i of [1, 2]) expect(results[i]!.at).toBeGreaterThanOrEqual(millis[i]!)
    const scheduler = await queue.getJobScheduler('tick')
    expect(scheduler).toMatchObject({ key: 'tick', name: 'tick-job', every: 200, template: { data: { n: 1 }, opts: { attempts: 2 } } })
    expect(scheduler?.iterationCount).toBeGreaterThanOrEqual(3)
  })

  it('a cron scheduler with a time zone schedules its next iteration at that zone’s time', async () => {
    const queue = bull.queue()
    // The top of each hour in India (UTC+5:30) is half past the hour in UTC.
    const job = (await queue.upsertJobScheduler('kolkata', { pattern: '0 0 * * * *', tz: 'Asia/Kolkata' }, { name: 'hourly' }))!
    const scheduler = (await queue.getJobScheduler('kolkata'))!
    expect(scheduler).toMatchObject({ key: 'kolkata', name: 'hourly', pattern: '0 0 * * * *', tz: 'Asia/Kolkata' })
    expect(scheduler.next! % HOUR).toBe(HOUR / 2)
    expect(scheduler.next! - Date.now()).toBeLessThanOrEqual(HOUR)
    expect(job.id).toBe(`repeat:kolkata:${String(scheduler.next)}`)
    expect(await job.getState()).toBe('delayed')
    expect(await queue.getDelayedCount()).toBe(1)
  })

  it('a cron scheduler runs its iterations when they fall due', async () => {
    const queue = bull.queue()
    await queue.upsertJobScheduler('every-second', { pattern: '* * * * * *' }, { name: 'second' })
    const worker = bull.worker(bull.name, async (job) => job.id)
    const [done] = await finished(worker, 1)
    expect(done?.name).toBe('second')
    expect(Number(String(done?.id).split(':')[2]) % 1_000).toBe(0)
  })

  it('upsert replaces the pending iteration rather than adding another', async () => {
    const queue = bull.queue()
    await queue.upsertJobScheduler('s', { every: HOUR, startDate: Date.now() + HOUR }, { name: 'v1', data: 1 })
    await queue.upsertJobScheduler('s', { every: 2 * HOUR, startDate: Date.now() + HOUR }, { name: 'v2', data: 2 })
    expect(await queue.getJobSchedulersCount()).toBe(1)
    const delayed = await queue.getDelayed()
    expect(delayed.map((j) => [j.name, j.data])).toEqual([['v2', 2]])
    expect(await queue.getJobScheduler('s')).toMatchObject({ every: 2 * HOUR, name: 'v2' })
  })

  it('a scheduler with a limit stops after that many iterations', async () => {
    const queue = bull.queue()
    await queue.upsertJobScheduler('twice', { every: 100, limit: 2 }, { name: 'limited' })
    const worker = bull.worker(bull.name, async () => 'ok')
    await finished(worker, 2)
    await new Promise((r) => setTimeout(r, 300))
    expect(await queue.getCompletedCount()).toBe(2)
    expect(await queue.getDelayedCount()).toBe(0)
    expect(await queue.getWaitingCount()).toBe(0)
  })

  it('a scheduler with an endDate stops around it and leaves nothing pending', async () => {
    const queue = bull.queue()
    const endDate = Date.now() + 250
    await queue.upsertJobScheduler('ending', { every: 100, endDate }, { name: 'until-end' })
    const worker = bull.worker(bull.name, async () => 'ok')
    await finished(worker, 2)
    await new Promise((r) => setTimeout(r, 400))
    // Redis itself sometimes runs one iteration past the end (seen: 1 run in 4, 64 ms past), never two.
    const due = (await queue.getCompleted()).map((j) => Number(j.id!.split(':')[2]))
    expect(due.length).toBeGreaterThanOrEqual(2)
    expect(due.filter((at) => at > endDate).length).toBeLessThanOrEqual(1)
    for (const at of due) expect(at).toBeLessThan(endDate + 100)
    expect(await queue.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 0, delayed: 0, active: 0 })
  })

  it('getJobSchedulers lists them; removeJobScheduler removes one and its pending iteration', async () => {
    const queue = bull.queue()
    await queue.upsertJobScheduler('a', { every: HOUR, startDate: Date.now() + HOUR })
    await queue.upsertJobScheduler('b', { pattern: '0 0 1 1 *' })
    expect((await queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['a', 'b'])
    expect(await queue.getJobSchedulersCount()).toBe(2)
    expect(await queue.getDelayedCount()).toBe(2)
    expect(await queue.removeJobScheduler('a')).toBe(true)
    expect(await queue.removeJobScheduler('a')).toBe(false)
    expect(await queue.getJobScheduler('a')).toBeUndefined()
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['b'])
    expect(await queue.getDelayedCount()).toBe(1)
  })
})
