/**
 * A re-delivered chord header task is counted once (DESIGN §4); a lease covers only runs that
 * began: a message held or about to start when the process dies or stops is still queued after
 * it, and runs, while a started early-ack task ends WorkerLostError. An acksLate task is delivered
 * again only when the process dies while it runs, so these scenarios need durable storage and a
 * restart: they run on file storage. The crash is a copy of the storage directory taken while
 * the engine is quiet (every write that resolved is in it, as after kill -9; the owner's LOCK
 * is left behind), opened by a second app. test/storage/crash-run.ts kills real processes;
 * here the moment of the crash is chosen, so the outcome can be asserted exactly.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, chord, group, inline, states } from '../../src/index.js'
import type { AsyncResult, GroupResult, Task } from '../../src/index.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { Storage } from '../../src/storage/types.js'
import { fileStorage, threads } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'
import { bundledThreads } from '../workers/bundled.js'
import { dying } from './dying.js'
import { holdEarlyLease } from './fixtures/held-lease.js'
import { defineLeaseTasks } from './fixtures/lease-tasks.js'
import type { DyingStorage } from './dying.js'

const dirs: string[] = []
const apps: Celeriac[] = []
const revive: DyingStorage[] = []

afterEach(async () => {
  // A dead app's storage lives again so that it can stop (its directory is not the one tested).
  for (const storage of revive.splice(0)) storage.revive()
  for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-redelivery-'))
  dirs.push(dir)
  return dir
}

/** What a kill -9 right now would leave on disk, in a new directory. */
function crashImage(dir: string): string {
  const image = tempDir()
  cpSync(dir, image, { recursive: true, filter: (path) => basename(path) !== 'LOCK' })
  return image
}

interface Started {
  app: Celeriac
  clock: VirtualClock
  lines: string[]
  member: Task<[label: string, ms: number], string>
  body: Task<[values: string[]], string[]>
}

async function start(dir: string, now?: number): Promise<Started> {
  const clock = virtualClock(now === undefined ? {} : { now })
  const app = new Celeriac({ name: 'redelivery', storage: fileStorage({ dir, onWarning: () => {} }), executor: inline(), clock })
  const lines: string[] = []
  app.events.on('log', (e) => lines.push(e.text))
  const member = app.task('rd.member', { bind: true, acksLate: true }, async (self: Task, label: string, ms: number) => {
    self.log.info(`start ${label}${self.request.deliveryInfo.redelivered ? ' redelivered' : ''}`)
    await self.sleep(ms)
    return label
  })
  const body = app.task('rd.body', { bind: true }, (self: Task, values: string[]) => {
    self.log.info(`body ${JSON.stringify(values)}`)
    return values
  })
  await app.start()
  apps.push(app)
  return { app, clock, lines, member, body }
}

it('an acksLate header task running at a crash runs again after the restart; the body runs once, with every result', async () => {
  const dir = tempDir()
  const first = await start(dir)
  const r = await chord([first.member.s('a', 0), first.member.s('b', 5_000)], first.body.s()).delay()
  await first.clock.advance(0)
  expect(first.lines).toEqual(['start a', 'start b'])
  // a is done and counted; b is running, leased.
  const image = crashImage(dir)
  await first.clock.runAll()

  const second = await start(image, first.clock.now())
  await second.clock.advance(0)
  expect(second.lines).toEqual(['start b redelivered'])
  expect(await second.app.AsyncResult(r.id).state()).toBe(states.PENDING)
  await second.clock.advance(5_000)
  expect(await second.app.AsyncResult(r.id).get()).toEqual(['a', 'b'])
  await second.app.whenIdle()
  expect(second.lines).toEqual(['start b redelivered', 'body ["a","b"]'])
})

it('a header task delivered again after it was counted (its ack lost) is not counted again: the body waits for the rest and runs once', async () => {
  const dir = tempDir()
  const first = await start(dir)
  const r = await chord([first.member.s('a', 1_000), first.member.s('b', 5_000)], first.body.s()).delay()
  const aId = (r.parent as unknown as GroupResult).results[0]!.id
  await first.clock.advance(0)
  // Both running: a's message is leased, not yet acked.
  const beforeAck = crashImage(dir)
  await first.clock.advance(1_000)
  // a is done: its result stored, its message acked and the chord counter at 1, in one step.
  const image = crashImage(dir)
  expect(first.lines).toEqual(['start a', 'start b'])
  await first.clock.runAll()

  // Put a's unacked message back, as a broker that lost the ack would deliver it again.
  const old = fileStorage({ dir: beforeAck, onWarning: () => {} })
  await old.open()
  const leased = await old.get('messages', aId)
  await old.close()
  expect(leased).toMatchObject({ id: aId, leased: true, acksLate: true })
  const storage = fileStorage({ dir: image, onWarning: () => {} })
  await storage.open()
  await storage.write([{ op: 'put', ns: 'messages', key: aId, value: leased }])
  await storage.close()

  const second = await start(image, first.clock.now())
  await second.clock.advance(1_000)
  // a ran again and finished; counting it twice would complete the chord without b.
  expect(second.lines).toEqual(['start a redelivered', 'start b redelivered'])
  expect(await second.app.AsyncResult(r.id).state()).toBe(states.PENDING)
  await second.clock.advance(4_000)
  expect(await second.app.AsyncResult(r.id).get()).toEqual(['a', 'b'])
  await second.app.whenIdle()
  expect(second.lines).toEqual(['start a redelivered', 'start b redelivered', 'body ["a","b"]'])
})

/** How each of `runs` ended: its state and, for a failure, the error's name. */
async function endings(results: readonly AsyncResult<unknown>[]): Promise<string[]> {
  return Promise.all(
    results.map(async (r) => {
      const value = await r.get({ timeout: 10_000, propagate: false })
      return value instanceof Error ? `${await r.state()} ${value.name}` : `${await r.state()} ${JSON.stringify(value)}`
    }),
  )
}

/** The ids of the messages a storage directory holds, and of those leased. */
async function messagesIn(dir: string): Promise<{ queued: string[]; leased: string[] }> {
  const storage = fileStorage({ dir, onWarning: () => {} })
  await storage.open()
  const messages = await storage.entries('messages')
  await storage.close()
  return { queued: messages.map(([id]) => id), leased: messages.filter(([, m]) => (m as TaskMessage).leased).map(([id]) => id) }
}

describe('threads: runs a worker holds (prefetched) but never started', () => {
  const faults = new URL('../adapters/fixtures/fault-tasks.ts', import.meta.url)

  /** One worker running one task at a time, holding up to four: the runs after the first wait in it. */
  async function threaded(dir: string, now?: number): Promise<{ app: Celeriac; clock: VirtualClock }> {
    const clock = virtualClock(now === undefined ? {} : { now })
    const app = new Celeriac({
      name: 'redelivery',
      storage: fileStorage({ dir, onWarning: () => {} }),
      executor: threads({ ...bundledThreads(faults), size: 1, prefetch: 4 }),
      clock,
    })
    await app.start()
    apps.push(app)
    return { app, clock }
  }

  /** Sends a long early-ack task, which starts, then three that the worker holds behind it. */
  async function busyWorker(first: { app: Celeriac; clock: VirtualClock }) {
    const running = await first.app.sendTask('fault.hold', ['a', 5_000])
    const held: AsyncResult<unknown>[] = []
    for (let i = 1; i <= 3; i++) held.push(await first.app.sendTask('fault.bystander', [i]))
    await first.clock.advance(0)
    expect(first.app.inspect.active().map((t) => t.id)).toEqual([running.id])
    expect(first.app.inspect.reserved().map((t) => t.id)).toEqual(held.map((r) => r.id))
    return { running, held }
  }

  it('after a crash they are still queued, and the next app runs them; the started early-ack task is WorkerLostError', async () => {
    const dir = tempDir()
    const first = await threaded(dir)
    const { running, held } = await busyWorker(first)
    const image = crashImage(dir)
    expect((await messagesIn(image)).leased).toEqual([running.id])
    await first.clock.runAll()

    const second = await threaded(image, first.clock.now())
    await second.clock.runAll()
    const again = (r: AsyncResult<unknown>): AsyncResult<unknown> => second.app.AsyncResult(r.id)
    expect(await endings([again(running), ...held.map(again)])).toEqual([
      'FAILURE WorkerLostError',
      'SUCCESS {"value":2,"redelivered":false}',
      'SUCCESS {"value":4,"redelivered":false}',
      'SUCCESS {"value":6,"redelivered":false}',
    ])
  })

  it('an early-ack run waits in its worker until its lease (its ack) is stored, so a crash never runs it twice', async () => {
    // No timing (as test/storage/lease-first.browser.ts in Chromium): the early-ack run goes to
    // the idle worker first and an acksLate run follows it there once the worker says the first
    // started; the early run's lease is kept from settling until the acksLate body has logged. A
    // worker that began the early body at once would have logged it before the acksLate run came.
    const dir = tempDir()
    const order: string[] = []
    let lateLogged!: () => void
    const logged = new Promise<void>((resolve) => (lateLogged = resolve))
    const heldLease = holdEarlyLease(fileStorage({ dir, onWarning: () => {} }), logged, order)
    const clock = virtualClock()
    // Two runs at once in the one worker: the acksLate run is not held behind the early one.
    const executor = threads({ ...bundledThreads(new URL('./fixtures/lease-worker.ts', import.meta.url)), size: 1, tasksPerWorker: 2 })
    const app = new Celeriac({ name: 'redelivery', storage: heldLease, executor, clock })
    const tasks = defineLeaseTasks(app)
    app.events.on('log', (e) => {
      order.push(e.text)
      if (e.text === 'body: late') lateLogged()
    })
    await app.start()
    apps.push(app)
    // In one write, so that both leave in one batch: a run leaves only once the writes before it
    // are stored, and the early run's lease will not be until the acksLate body has logged.
    const both = await group([tasks.early.s(), tasks.late.s()]).delay()
    await clock.runAll()
    expect(await both.get()).toEqual(['early', 'late'])
    expect(order).toEqual(['body: late', 'lease stored', 'body: early'])
  })

  it('a stop while they wait leaves them queued, not leased: the next app runs them; the started early-ack task is WorkerLostError', async () => {
    const dir = tempDir()
    const first = await threaded(dir)
    const { running, held } = await busyWorker(first)
    // The running task outlives the timeout: it is told to stop and its worker ends with the app.
    await first.app.stop({ timeout: 0 })
    apps.splice(apps.indexOf(first.app), 1)
    expect((await messagesIn(dir)).leased).toEqual([running.id])

    const second = await threaded(dir, first.clock.now())
    await second.clock.runAll()
    const again = (r: AsyncResult<unknown>): AsyncResult<unknown> => second.app.AsyncResult(r.id)
    expect(await endings([again(running), ...held.map(again)])).toEqual([
      'FAILURE WorkerLostError',
      'SUCCESS {"value":2,"redelivered":false}',
      'SUCCESS {"value":4,"redelivered":false}',
      'SUCCESS {"value":6,"redelivered":false}',
    ])
  })
})

describe('inline: the process dies right after a write is stored, before the engine acts on it', () => {
  /** Registers the tasks, which note in `ran` the ids they ran (`rd.late` is acksLate). */
  function register(app: Celeriac) {
    const ran: string[] = []
    const body = async (self: Task, n: number): Promise<number> => {
      ran.push(self.request.id)
      await self.sleep(1_000)
      return n
    }
    return { ran, job: app.task('rd.job', { bind: true }, body), late: app.task('rd.late', { bind: true, acksLate: true }, body) }
  }

  async function jobsApp(storage: Storage, clock: VirtualClock): Promise<{ app: Celeriac; ran: string[] }> {
    const app = new Celeriac({ name: 'redelivery', storage, executor: inline(), clock, queues: { default: { concurrency: 2 } } })
    const { ran } = register(app)
    await app.start()
    apps.push(app)
    return { app, ran }
  }

  /**
   * Five tasks sent while no app consumes; then an app runs them two at a time, each a second of
   * engine time, and its storage dies at the `at`-th write.
   */
  async function dyingApp(dir: string, at: number) {
    const producer = new Celeriac({ name: 'redelivery', storage: fileStorage({ dir, onWarning: () => {} }), consume: false })
    const { job, late } = register(producer)
    await producer.start()
    const sent = []
    for (let i = 0; i < 5; i++) sent.push(await (i % 2 === 0 ? job : late).delay(i))
    await producer.stop()
    const storage = dying(fileStorage({ dir, onWarning: () => {} }))
    storage.dieAt(at)
    revive.push(storage)
    const clock = virtualClock()
    const { ran } = await jobsApp(storage, clock)
    // The engine waits for writes that never settle: the clock never gets quiet after the death.
    const outcome = await Promise.race([clock.runAll().then(() => 'done' as const), storage.died.then(() => 'died' as const)])
    await storage.settled()
    return { outcome, sent, ran, clock }
  }

  /** The second app: runs what the first left, noting which tasks it ran. */
  async function after(dir: string, now: number) {
    const clock = virtualClock({ now })
    const second = await jobsApp(fileStorage({ dir, onWarning: () => {} }), clock)
    await clock.runAll()
    return second
  }

  it('at every write in turn: only tasks that started or were about to are leased; the next app fails the early-ack ones and runs the rest; none runs twice', async () => {
    let rounds = 0
    for (let at = 1; ; at++) {
      const dir = tempDir()
      const first = await dyingApp(dir, at)
      if (first.outcome === 'done') break
      rounds++
      const image = crashImage(dir)
      const { queued, leased } = await messagesIn(image)
      const label = `died at write ${String(at)}`
      // A lease covers only runs that began, or early-ack runs about to: their lease (the ack)
      // is stored before the body, and the death came between the two.
      const ids = first.sent.map((r) => r.id)
      for (const id of leased) if (ids.indexOf(id) % 2 === 1) expect(first.ran, label).toContain(id)

      const second = await after(image, first.clock.now())
      const ended = await endings(ids.map((id) => second.app.AsyncResult(id)))
      for (const [i, id] of ids.entries()) {
        const acksLate = i % 2 === 1
        if (!queued.includes(id)) {
          // Done before the crash.
          expect([ended[i], second.ran.includes(id)], label).toEqual([`SUCCESS ${String(i)}`, false])
        } else if (leased.includes(id) && !acksLate) {
          // It was running, or acked to run: at most once.
          expect([ended[i], second.ran.includes(id)], label).toEqual(['FAILURE WorkerLostError', false])
        } else {
          // Leased acksLate (at least once), or never started (an early-ack one never ran).
          expect([ended[i], second.ran.includes(id)], label).toEqual([`SUCCESS ${String(i)}`, true])
          if (!acksLate) expect(first.ran, label).not.toContain(id)
        }
      }
    }
    // Each write of the workload was the moment of death once: the lease of 0 (early ack, before
    // it runs), that of 1 (acksLate, once it runs), their outcomes with the lease of 2, that of 3,
    // their outcomes with the lease of 4, its outcome.
    expect(rounds).toBe(6)
  })
})
