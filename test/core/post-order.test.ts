/**
 * A prefetching executor (reportsStart) is handed runs in the order the pump took them from
 * their queue: a run a pump took goes to it before any run a later pump took. On memory storage
 * a run may go in the pump itself (CommitQueue.afterStored), but only when no earlier batch of
 * commits, which may hold runs an earlier pump took, is still to run its steps.
 */
import { expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import type { Executor, ExecutorHost } from '../../src/core/executor/types.js'

/** Holds what it is sent, says each run started as it gets it (an idle pool worker's way), and ends runs when the test says. */
function recordingExecutor(capacity: number): Executor & { readonly posted: string[]; host(): ExecutorHost } {
  const posted: string[] = []
  let host: ExecutorHost | undefined
  return {
    name: 'recording',
    capacity,
    canTerminate: false,
    reportsStart: true,
    startable: () => false,
    posted,
    host: () => host!,
    async start(h) {
      host = h
    },
    post(message) {
      if (message.type !== 'run') return
      for (const job of message.jobs) {
        posted.push(job.message.id)
        host!.receive({ type: 'started', id: job.message.id })
      }
    },
    async stop() {},
  }
}

/** A small seeded generator, so that a failing interleaving can be run again. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** An app on memory storage over a recording executor, with the order its pumps took runs in. */
async function orderedApp() {
  const executor = recordingExecutor(2)
  const app = new Celeriac({ storage: memoryStorage(), executor })
  app.task('order.step', (n: number) => n)
  const taken: string[] = []
  app.events.on('task-received', (e) => taken.push(e.id))
  // 'task-started' is said after a commit round: each start puts a batch in the commit queue.
  app.events.on('task-started', () => undefined)
  await app.start()
  return { executor, app, taken, host: executor.host() }
}

it("on memory storage, a run a pump takes while an earlier pump's runs wait in a batch whose steps have not run goes after them", async () => {
  const { executor, app, taken, host } = await orderedApp()
  void app.sendTask('order.step', [0], { taskId: 'a' })
  await null
  await null
  void app.sendTask('order.step', [1], { taskId: 'b' })
  await null
  await null
  void app.sendTask('order.step', [2], { taskId: 'c' })
  // 'a' is done (if it went already): its outcome's commit is the batch a pump's runs join;
  // the next pump comes before that batch's steps run.
  let finished = 0
  if (executor.posted[0] === 'a') {
    finished++
    host.receive({ type: 'outcome', id: 'a', hooks: false, outcome: { type: 'success', value: 0 } })
  }
  for (let round = 0; round < 100 && finished < 3; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0))
    while (finished < executor.posted.length) {
      const id = executor.posted[finished++]!
      host.receive({ type: 'outcome', id, hooks: false, outcome: { type: 'success', value: 0 } })
    }
  }
  expect(taken).toEqual(['a', 'b', 'c'])
  expect(executor.posted).toEqual(taken)
  await app.stop()
})

it('on memory storage, runs reach a prefetching executor in the order the pump took them, however sends and outcomes interleave', async () => {
  const wrong: string[] = []
  for (let seed = 1; seed <= 150 && wrong.length === 0; seed++) {
    const next = random(seed)
    const { executor, app, taken, host } = await orderedApp()
    let sent = 0
    let finished = 0
    const steps: string[] = []
    for (let step = 0; step < 24; step++) {
      const r = next()
      if (r < 0.4) {
        const id = `t${sent++}`
        steps.push(`send ${id}`)
        void app.sendTask('order.step', [0], { taskId: id })
      } else if (r < 0.7) {
        // The oldest run it holds is done (a one-task worker's order).
        const id = executor.posted[finished]
        if (id === undefined) continue
        finished++
        steps.push(`done ${id}`)
        host.receive({ type: 'outcome', id, hooks: false, outcome: { type: 'success', value: 0 } })
      } else {
        const turns = 1 + Math.floor(next() * 4)
        steps.push(`${turns} turns`)
        for (let i = 0; i < turns; i++) await null
      }
    }
    // The rest are done, so that the app stops with nothing running.
    for (let round = 0; round < 100 && finished < sent; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0))
      while (finished < executor.posted.length) {
        const id = executor.posted[finished++]!
        host.receive({ type: 'outcome', id, hooks: false, outcome: { type: 'success', value: 0 } })
      }
    }
    if (executor.posted.join() !== taken.join()) {
      wrong.push(`seed ${seed}: ${steps.join(', ')}: taken ${taken.join()}, posted ${executor.posted.join()}`)
    }
    await app.stop()
  }
  expect(wrong).toEqual([])
})
