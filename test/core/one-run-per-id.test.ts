/**
 * One run of an id at a time in an engine: its books (the runs, their queue slots, the waits
 * they park) and an executor's go by task id. A message taken to run while a run of its id is
 * still here waits until that run leaves. Reachable: a task that stores no result has its id
 * free again once its outcome is in, while its hooks still run (the threads executor's case is
 * in test/adapters/threads.test.ts).
 */
import { expect, it } from 'vitest'
import { Celeriac, Task, memoryStorage } from '../../src/index.js'
import type { Delivery, Transport } from '../../src/index.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import { virtualClock } from '../../src/testing.js'

it('a send of a taskId whose earlier run still runs its hooks starts once they are done, and leaves the books right (inline)', async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock, queues: { default: { concurrency: 4 } } })
  const lines: string[] = []
  class ResendingHooks extends Task<[string], string> {
    override async afterReturn(_state: unknown, retval: unknown, taskId: string): Promise<void> {
      // The first run's hooks send its id again: no result is stored, so that is a new message.
      if (retval === 'first') await resend.applyAsync(['second'], { taskId })
      lines.push(`hooks after ${String(retval)}`)
    }
  }
  const resend = app.task('same.resend', { base: ResendingHooks, bind: true, ignoreResult: true }, (_self, label: string) => {
    lines.push(`body ${label}`)
    return label
  })
  const hold = app.task('same.hold', { bind: true }, async (self, ms: number) => {
    await self.sleep(ms)
    return ms
  })
  await app.start()
  try {
    await resend.applyAsync(['first'], { taskId: 'dup' })
    await clock.runAll()
    expect(lines).toEqual(['body first', 'hooks after first', 'body second', 'hooks after second'])
    // Nothing of the two runs holds a slot of the queue: four tasks of a second each run at once.
    const t0 = clock.now()
    const ends: number[] = []
    app.events.on('task-succeeded', (e) => ends.push(e.timestamp - t0))
    const holds = []
    for (let i = 0; i < 4; i++) holds.push(await hold.delay(1_000))
    await clock.runAll()
    expect(await Promise.all(holds.map((h) => h.get()))).toEqual([1_000, 1_000, 1_000, 1_000])
    expect(ends).toEqual([1_000, 1_000, 1_000, 1_000])
  } finally {
    await app.stop()
  }
})

/**
 * A broker that delivers what the test hands it, as often as it is told: a Celery broker does not
 * dedupe ids (two `apply_async(task_id=...)` of one id are two messages), nor does a redelivery race.
 */
class HandDelivering implements Transport {
  readonly name = 'hand-delivering'
  readonly store = memoryStorage()
  readonly sent: TaskMessage[] = []
  deliver: ((delivery: Delivery) => void) | undefined
  /** What became of each delivery handed over, in the order handed: 'acked', 'requeued', ... */
  readonly settled: string[][] = []
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async add(messages: readonly TaskMessage[]): Promise<void> {
    this.sent.push(...messages)
  }
  async listen(_queue: string, _concurrency: number, deliver: (delivery: Delivery) => void): Promise<void> {
    this.deliver = deliver
  }
  async remove(): Promise<TaskMessage[]> {
    return []
  }
  async forget(): Promise<void> {}
  async purge(): Promise<number> {
    return 0
  }
  hand(message: TaskMessage): void {
    const ends: string[] = []
    this.settled.push(ends)
    this.deliver!({
      message,
      redelivered: false,
      ack: async () => void ends.push('acked'),
      defer: async () => void ends.push('deferred'),
      requeue: async () => void ends.push('requeued'),
    })
  }
}

/** {@link HandDelivering} that can stop taking from a queue, so a pause gives back what it holds. */
class PausingHandDelivering extends HandDelivering {
  async pause(): Promise<void> {}
  async resume(): Promise<void> {}
}

it('two deliveries of one id taken in the same turn run one after the other, not together, and each is acked once', async () => {
  const clock = virtualClock()
  const broker = new HandDelivering()
  const app = new Celeriac({ clock, transport: broker, queues: { default: { concurrency: 4 } } })
  let inside = 0
  let most = 0
  const starts: number[] = []
  const count = app.task('same.count', { bind: true }, async (self) => {
    inside++
    most = Math.max(most, inside)
    starts.push(clock.now())
    await self.sleep(1_000)
    inside--
    return 'done'
  })
  await app.start()
  try {
    const t0 = clock.now()
    await count.applyAsync([], { taskId: 'dup' })
    const message = broker.sent[0]!
    // Both before the engine's next turn: one pump takes them both.
    broker.hand(message)
    broker.hand(message)
    await clock.runAll()
    expect(most).toBe(1)
    expect(starts.map((t) => t - t0)).toEqual([0, 1_000])
    // Each run settles its own delivery: none is left for the broker to hand out again later.
    expect(broker.settled).toEqual([['acked'], ['acked']])
  } finally {
    await app.stop()
  }
})

/**
 * An app on `broker` whose task of id 'dup' (a second asleep) was delivered twice: half way
 * through the first run, with the second delivery waiting for it to leave.
 */
async function secondWaitingBehindFirst(broker: HandDelivering): Promise<{ app: Celeriac; clock: ReturnType<typeof virtualClock> }> {
  const clock = virtualClock()
  const app = new Celeriac({ clock, transport: broker, queues: { default: { concurrency: 4 } } })
  const count = app.task('same.count-twice', { bind: true }, async (self) => {
    await self.sleep(1_000)
    return 'done'
  })
  await app.start()
  await count.applyAsync([], { taskId: 'dup' })
  const message = broker.sent[0]!
  broker.hand(message)
  broker.hand(message)
  await clock.advance(500)
  return { app, clock }
}

it("a stop gives back a delivery that waits for its id's earlier run to leave, not that run's", async () => {
  const broker = new HandDelivering()
  const { app, clock } = await secondWaitingBehindFirst(broker)
  let stopped = false
  try {
    // The stop gives the second back at once, and the first, once it ends, is acked.
    const stopping = app.stop({ timeout: 5_000 })
    await clock.runAll()
    await stopping
    stopped = true
    expect(broker.settled).toEqual([['acked'], ['requeued']])
  } finally {
    if (!stopped) await app.stop()
  }
})

it("a pause gives back a delivery that waits for its id's earlier run to leave", async () => {
  const broker = new PausingHandDelivering()
  const { app, clock } = await secondWaitingBehindFirst(broker)
  try {
    await app.control.pause('default')
    await clock.runAll()
    expect(broker.settled).toEqual([['acked'], ['requeued']])
  } finally {
    await app.stop()
  }
})

it("a message waiting for its id's run to leave is listed as reserved meanwhile (Celery's prefetched, not yet running)", async () => {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  class ResendThenWait extends Task<[string], string> {
    override async afterReturn(_state: unknown, retval: unknown, taskId: string): Promise<void> {
      if (retval !== 'first') return
      await resend.applyAsync(['second'], { taskId })
      // The hooks go on a second: the second message waits for them.
      await this.sleep(1_000)
    }
  }
  const resend = app.task('same.resend-then-wait', { base: ResendThenWait, ignoreResult: true }, (label: string) => label)
  await app.start()
  try {
    await resend.applyAsync(['first'], { taskId: 'waits' })
    await clock.advance(500)
    const reserved = app.inspect.reserved().map((m) => [m.id, m.args])
    const active = app.inspect.active()
    // Settled before asserting: a stop waits for the hooks, which sleep on the virtual clock.
    await clock.runAll()
    expect(reserved).toEqual([['waits', ['second']]])
    expect(active).toEqual([])
    expect(app.inspect.reserved()).toEqual([])
  } finally {
    await app.stop()
  }
})
