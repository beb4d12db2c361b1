/**
 * `app.events` across processes on Redis: a producer app (`consume: false`) hears the runs a
 * worker app (another Celeriac, same prefix) makes of the tasks it sent, through BullMQ's
 * QueueEvents, with the payloads the worker's own events have, each once. Real time: every wait
 * has a deadline, never a sleep for its own sake.
 */
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bullmqTransport } from '../../src/bullmq/index.js'
import { Celeriac } from '../../src/index.js'
import type { CeleriacEvents, Task } from '../../src/index.js'
import { deleteKeys } from '../bullmq/backends.js'
import { reachable } from '../reachable.js'

const REDIS = { host: '127.0.0.1', port: 6379 } as const
const up = await reachable(REDIS.host, REDIS.port)
const WAIT = { timeout: 15_000 }

const CARRIED = ['task-started', 'task-progress', 'task-succeeded', 'task-failed', 'task-retried'] as const
type Carried = (typeof CARRIED)[number]
interface Heard {
  readonly name: Carried
  readonly payload: Parameters<CeleriacEvents[Carried]>[0]
}

function defineTasks(app: Celeriac) {
  return {
    add: app.task('math.add', (a: number, b: number) => a + b),
    boom: app.task('math.boom', (why: string) => {
      throw new RangeError(why)
    }),
    steps: app.task('work.steps', { bind: true }, (self: Task, n: number) => {
      self.updateState('PROGRESS', { step: 1, of: n })
      return n
    }),
    /** Fails its first run with a retry after 50 ms; returns the retries it took. */
    flaky: app.task('net.flaky', { bind: true, maxRetries: 3 }, (self: Task) => {
      if (self.request.retries === 0) throw self.retry({ countdown: 50 })
      return self.request.retries
    }),
  }
}

/** Records every carried event `app` emits, in order. */
function record(app: Celeriac): Heard[] {
  const heard: Heard[] = []
  for (const name of CARRIED) app.events.on(name, (payload: Heard['payload']) => heard.push({ name, payload }))
  return heard
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT.timeout
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waited ${String(WAIT.timeout)} ms for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Sends probe tasks until `heard` has the success of one: the worker has heard that someone listens. */
async function reportsFlow(tasks: ReturnType<typeof defineTasks>, heard: Heard[]): Promise<void> {
  const deadline = Date.now() + WAIT.timeout
  for (;;) {
    const r = await tasks.add.delay(0, 0)
    await r.get(WAIT)
    const end = Date.now() + 500
    while (Date.now() < end) {
      if (heard.some((e) => e.name === 'task-succeeded' && e.payload.id === r.id)) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    if (Date.now() > deadline) throw new Error(`waited ${String(WAIT.timeout)} ms for the worker to report its runs`)
  }
}

describe.skipIf(!up)(`app.events across processes on Redis${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  const prefix = `celeriac-events-${randomUUID()}`
  let worker: Celeriac
  let producer: Celeriac
  let tasks: ReturnType<typeof defineTasks>
  let there: Heard[]
  let here: Heard[]

  beforeAll(async () => {
    worker = new Celeriac({ name: 'events-worker', transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    defineTasks(worker)
    here = record(worker)
    producer = new Celeriac({ name: 'events-web', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    tasks = defineTasks(producer)
    // The worker first: it hears of the producer's listening through the store, after its start;
    // and the producer's listeners come after its start: the first one opens its listening.
    await worker.start()
    await producer.start()
    there = record(producer)
    await reportsFlow(tasks, there)
    await worker.whenIdle()
  })

  let stopped = false

  afterAll(async () => {
    if (!stopped) await producer?.stop()
    await worker?.stop()
    await deleteKeys(prefix)
  })

  /** What `heard` has of task `id`: each event's name and the fields compared across processes. */
  const of = (heard: Heard[], id: string) => heard.filter((e) => e.payload.id === id)
  /**
   * Waits until both processes have emitted `name` for task `id`. The two emit independently: the
   * producer can hear the worker's completion through Redis before the worker's own listeners run
   * (a landing CI run saw it), so neither is a clock for the other.
   */
  const heardIn = async (name: Carried, id: string) => {
    await until(`${name} in the producer`, () => of(there, id).some((e) => e.name === name))
    await until(`${name} in the worker`, () => of(here, id).some((e) => e.name === name))
  }

  it('the producer hears started, progress and succeeded of a run in the worker, each once, as the worker emits them', async () => {
    const r = await tasks.steps.delay(3)
    expect(await r.get(WAIT)).toBe(3)
    await heardIn('task-succeeded', r.id)
    const remote = of(there, r.id)
    const local = of(here, r.id)
    expect(remote.map((e) => e.name)).toEqual(['task-started', 'task-progress', 'task-succeeded'])
    expect(local.map((e) => e.name)).toEqual(['task-started', 'task-progress', 'task-succeeded'])
    const base = { id: r.id, name: 'work.steps', queue: 'default', retries: 0, parentId: null, rootId: r.id }
    for (const e of remote) expect(e.payload).toMatchObject(base)
    expect(remote[1]!.payload).toMatchObject({ state: 'PROGRESS', meta: { step: 1, of: 3 } })
    expect(remote[2]!.payload).toMatchObject({ result: 3 })
    const runtime = (remote[2]!.payload as { runtime: number }).runtime
    expect(runtime).toBeGreaterThanOrEqual(0)
    expect(runtime).toBeLessThan(WAIT.timeout)
    // The worker's own runs are its local events only: nothing of them came back to it twice.
    expect(local).toHaveLength(3)
  })

  it('a failure arrives decoded: the task’s own error class, message and runtime', async () => {
    const r = await tasks.boom.delay('bad input')
    await expect(r.get(WAIT)).rejects.toBeInstanceOf(RangeError)
    await heardIn('task-failed', r.id)
    const remote = of(there, r.id)
    expect(remote.map((e) => e.name)).toEqual(['task-started', 'task-failed'])
    const failed = remote[1]!.payload as { error: Error; runtime: number }
    expect(failed.error).toBeInstanceOf(RangeError)
    expect(failed.error.message).toBe('bad input')
    expect(failed.runtime).toBeGreaterThanOrEqual(0)
    expect(of(here, r.id).map((e) => e.name)).toEqual(['task-started', 'task-failed'])
  })

  it('a retry: started, retried (with its eta), started again with retries 1, succeeded; each once', async () => {
    const r = await tasks.flaky.delay()
    expect(await r.get(WAIT)).toBe(1)
    await heardIn('task-succeeded', r.id)
    const remote = of(there, r.id)
    expect(remote.map((e) => [e.name, e.payload.retries])).toEqual([
      ['task-started', 0],
      ['task-retried', 0],
      ['task-started', 1],
      ['task-succeeded', 1],
    ])
    // The eta the worker's retry set (its own event's), and its error: none given, so null.
    const retried = remote[1]!.payload as { eta: number; error: Error | null }
    const localRetried = of(here, r.id)[1]!.payload as { eta: number; error: Error | null }
    expect(retried.eta).toBe(localRetried.eta)
    expect(retried.error).toBe(localRetried.error)
    expect(remote[3]!.payload).toMatchObject({ result: 1 })
    expect(of(here, r.id).map((e) => [e.name, e.payload.retries])).toEqual(remote.map((e) => [e.name, e.payload.retries]))
  })

  it('once no process listens the worker stops reporting: its jobs carry no report again', async () => {
    await producer.stop()
    stopped = true
    const web = new Celeriac({ name: 'events-web-2', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    const webTasks = defineTasks(web)
    const queue = new Queue('default', { connection: { ...REDIS }, prefix })
    await web.start()
    try {
      // The worker hears of the listener's record going through the store: soon, not at once.
      let lastBare = false
      const deadline = Date.now() + WAIT.timeout
      while (!lastBare) {
        if (Date.now() > deadline) throw new Error('the worker still reports its runs')
        const r = await webTasks.steps.delay(1)
        expect(await r.get(WAIT)).toBe(1)
        await worker.whenIdle()
        const job = await queue.getJob(r.id)
        // Progress is reported always (BullMQ's tools show it); the start and the end are not.
        lastBare = job?.returnvalue === null && (job.progress as { type?: string }).type === 'progress'
      }
    } finally {
      await web.stop()
      await queue.close()
    }
  })
})
