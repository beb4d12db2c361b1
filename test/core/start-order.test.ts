/**
 * A prefetching executor says when each run starts (Starts.startSoon). On memory storage the
 * start is marked at once, with no write to wait for; what others see of it ('task-started')
 * still keeps its place after what the commits before it report: a worker's batch that says
 * one run succeeded and the next started reads so in the events, never the other way round
 * (which shows two runs active on a one-slot worker).
 */
import { expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import type { Executor, ExecutorHost } from '../../src/core/executor/types.js'
import type { RunJob } from '../../src/core/model/protocol.js'

/** A one-slot worker the test speaks for: it holds what it is sent and says only what the test says. */
function scriptedWorker(): Executor & { readonly held: RunJob[]; host(): ExecutorHost; twoHeld: Promise<void> } {
  const held: RunJob[] = []
  let host: ExecutorHost | undefined
  let two: () => void = () => undefined
  const twoHeld = new Promise<void>((resolve) => (two = resolve))
  return {
    name: 'scripted',
    // Room for two, so that the engine hands it both runs; it runs them one at a time.
    capacity: 2,
    canTerminate: false,
    reportsStart: true,
    startable: () => false,
    held,
    twoHeld,
    host: () => host!,
    async start(h) {
      host = h
    },
    post(message) {
      if (message.type === 'run') held.push(...message.jobs)
      if (held.length === 2) two()
    },
    async stop() {},
  }
}

it("on memory storage, 'task-started' of the next run follows 'task-succeeded' of the run before it in the same batch", async () => {
  const worker = scriptedWorker()
  const app = new Celeriac({ storage: memoryStorage(), executor: worker })
  app.task('order.step', (n: number) => n)
  const seen: string[] = []
  const ids: string[] = []
  app.events.on('task-started', (e) => seen.push(`started ${ids.indexOf(e.id)}`))
  app.events.on('task-succeeded', (e) => seen.push(`succeeded ${ids.indexOf(e.id)}`))
  await app.start()
  const a = await app.sendTask<number>('order.step', [0])
  const b = await app.sendTask<number>('order.step', [1])
  ids.push(a.id, b.id)
  await worker.twoHeld
  const host = worker.host()
  const startedA = new Promise((resolve) => app.events.once('task-started', resolve))
  host.receive({ type: 'started', id: a.id })
  await startedA
  // One batch from the worker: 'a' is done, and it went on with 'b', which it held.
  host.receive({ type: 'outcome', id: a.id, hooks: false, outcome: { type: 'success', value: 0 } })
  host.receive({ type: 'started', id: b.id })
  host.receive({ type: 'outcome', id: b.id, hooks: false, outcome: { type: 'success', value: 1 } })
  expect(await b.get({ timeout: 5_000 })).toBe(1)
  expect(seen).toEqual(['started 0', 'succeeded 0', 'started 1', 'succeeded 1'])
  await app.stop()
})
