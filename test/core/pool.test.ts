/**
 * What the pool posts to its workers, seen through a worker that only records: the
 * postMessage count is the main thread's cost per task, so how runs are grouped is behaviour.
 */
import { describe, expect, it } from 'vitest'
import { poolExecutor } from '../../src/core/executor/pool.js'
import type { PoolWorkerEvents } from '../../src/core/executor/pool.js'
import type { FromRuntime, RunJob, ToWorker } from '../../src/core/model/protocol.js'
import type { TaskMessage } from '../../src/core/model/message.js'

function job(id: string): RunJob {
  return { message: { id, task: 't.add', acksLate: false } as TaskMessage, hostname: 'test' }
}

async function setup() {
  const posts: ToWorker[] = []
  const received: FromRuntime[] = []
  const later: Array<() => void> = []
  /** What the pool said about the worker holding the host (Node's ref/unref). */
  const holds: boolean[] = []
  let events: PoolWorkerEvents | undefined
  const pool = poolExecutor({
    name: 'test pool',
    size: 1,
    tasksPerWorker: 1,
    prefetch: 4,
    moduleName: 'test',
    afterArrivals: (fn) => later.push(fn),
    spawn(e) {
      events = e
      queueMicrotask(() => e.message({ type: 'ready', tasks: [{ name: 't.add', profile: {} as never }] }))
      return { post: (batch) => posts.push(batch), terminate: () => undefined, hold: (held) => holds.push(held) }
    },
  })
  await pool.start({ receive: (m) => received.push(m), lookup: () => undefined })
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))
  const runAfterArrivals = (): void => {
    for (const fn of later.splice(0)) fn()
  }
  return { pool, posts, received, holds, events: events!, tick, runAfterArrivals }
}

const runIds = (batch: ToWorker): string[] => batch.flatMap((m) => (m.type === 'run' ? m.jobs.map((j) => j.message.id) : []))

describe('the pool', () => {
  it('counts a run sent to an idle worker as started when it sends it, and says so to the engine', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    expect(t.received).toEqual([{ type: 'started', id: 'a' }])
    await t.tick()
    expect(t.posts).toHaveLength(1)
    const [run] = t.posts[0]!
    expect(run).toMatchObject({ type: 'run', jobs: [{ message: { id: 'a' }, startsNow: true }] })
  })

  it('holds the runs for a busy worker until the arrivals are handled, then posts them together', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b')] })
    t.pool.post({ type: 'run', jobs: [job('c')] })
    await t.tick()
    expect(t.posts.map(runIds)).toEqual([['a']])
    t.runAfterArrivals()
    expect(t.posts.map(runIds)).toEqual([['a'], ['b', 'c']])
    // Held runs report their own start: they wait behind another.
    const held = t.posts[1]!.flatMap((m) => (m.type === 'run' ? m.jobs : []))
    expect(held.every((j) => j.startsNow === undefined)).toBe(true)
    expect(t.received).toEqual([{ type: 'started', id: 'a' }])
  })

  it('sends a cancel within the tick, taking the held runs with it', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.pool.post({ type: 'run', jobs: [job('b')] })
    t.pool.post({ type: 'cancel', id: 'a', reason: 'soft-time-limit' })
    await t.tick()
    expect(t.posts[1]!.map((m) => m.type)).toEqual(['run', 'cancel'])
    t.runAfterArrivals()
    expect(t.posts).toHaveLength(2)
  })

  it('lets an idle worker not hold the host: held from its first run to the end of its last', async () => {
    const t = await setup()
    // Ready with nothing to do: the app's keepAlive alone decides whether the process stays up.
    expect(t.holds).toEqual([false])
    t.pool.post({ type: 'run', jobs: [job('a')] })
    t.pool.post({ type: 'run', jobs: [job('b')] })
    expect(t.holds).toEqual([false, true])
    t.events.message([{ type: 'outcome', id: 'a', hooks: false, outcome: { type: 'success', value: 1 } }])
    expect(t.holds).toEqual([false, true])
    t.events.message([{ type: 'started', id: 'b' }])
    t.events.message([{ type: 'outcome', id: 'b', hooks: true, outcome: { type: 'success', value: 1 } }])
    // Its hooks still run: still held.
    expect(t.holds).toEqual([false, true])
    t.events.message([{ type: 'finished', id: 'b' }])
    expect(t.holds).toEqual([false, true, false])
  })

  it('treats a worker as idle again once its runs are done', async () => {
    const t = await setup()
    t.pool.post({ type: 'run', jobs: [job('a')] })
    await t.tick()
    t.events.message([{ type: 'outcome', id: 'a', hooks: false, outcome: { type: 'success', value: 1 } }])
    t.pool.post({ type: 'run', jobs: [job('b')] })
    await t.tick()
    expect(t.posts.map(runIds)).toEqual([['a'], ['b']])
    expect(t.received.filter((m) => m.type === 'started')).toEqual([
      { type: 'started', id: 'a' },
      { type: 'started', id: 'b' },
    ])
  })
})
