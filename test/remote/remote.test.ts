/**
 * celeriac/remote over Node's MessageChannel: a remote sends, reads results, follows progress,
 * hears events and inspects an app served on the other end, with the app's own checks, errors
 * and virtual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ChannelClosedError, chain, chord, group, states } from '../../src/index.js'
import type { StateUpdate } from '../../src/index.js'
import { served } from './setup.js'
import type { Served, Tasks } from './setup.js'

let s: Served

beforeEach(async () => {
  s = await served()
})

afterEach(async () => {
  await s.close()
})

describe('sending through a remote', () => {
  it('delay, sendTask and signatures by name resolve with handles whose get() gives the result', async () => {
    const { remote } = s.connect()
    const add = remote.task<Tasks['add']>('math.add')
    const r = await add.delay(2, 2)
    expect(await r.get()).toBe(4)
    expect(await (await remote.sendTask<number>('math.add', [3, 4])).get()).toBe(7)
    expect(await (await remote.signature('math.add', { args: [5, 5] }).delay()).get()).toBe(10)
    // The handle is for an id of the app: the app's own handle reads the same record.
    expect(await s.app.AsyncResult(r.id).get()).toBe(4)
    await remote.ready
    expect(remote.name).toBe('owner')
  })

  it('applyAsync with a countdown runs when the owning app’s virtual clock reaches it', async () => {
    const { remote } = s.connect()
    const r = await remote.task<Tasks['add']>('math.add').applyAsync([20, 22], { countdown: 60_000 })
    expect(await r.state()).toBe(states.PENDING)
    expect((await remote.inspect.scheduled()).map((t) => [t.id, t.name, t.args])).toEqual([[r.id, 'math.add', [20, 22]]])
    await s.clock.advance(59_999)
    expect(await r.ready()).toBe(false)
    await s.clock.advance(1)
    expect(await r.get()).toBe(42)
    expect(await r.state()).toBe(states.SUCCESS)
  })

  it('chain, group and chord of remote signatures run in the app', async () => {
    const { remote } = s.connect()
    const add = remote.task<Tasks['add']>('math.add')
    const sum = remote.task<Tasks['sum']>('math.sum')
    const c = await chain(add.s(2, 2), add.s(4), add.s(8)).delay()
    expect(await c.get()).toBe(16)
    expect(await c.parent?.get()).toBe(8)
    const g = await group([1, 2, 3].map((i) => add.s(i, i))).delay()
    expect(await g.get()).toEqual([2, 4, 6])
    expect(await g.completedCount()).toBe(3)
    const ch = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()
    expect(await ch.get()).toBe(6)
    // Sent explicitly, a canvas of signatures made elsewhere goes through the remote too.
    expect(await (await remote.send(chain(remote.signature('math.add', { args: [1, 1] }), add.s(1)))).get()).toBe(3)
  })

  it('several remotes on one app each get their own answers, and the events they listen to', async () => {
    const a = s.connect().remote
    const b = s.connect().remote
    const heardA: string[] = []
    const heardB: string[] = []
    a.events.on('task-succeeded', (e) => heardA.push(e.id))
    b.events.on('task-failed', (e) => heardB.push(e.id))
    const [ra, rb] = await Promise.all([a.sendTask<number>('math.add', [1, 2]), b.sendTask<number>('math.add', [10, 20])])
    expect(await ra.get()).toBe(3)
    expect(await rb.get()).toBe(30)
    const failed = await b.sendTask('work.fail', ['plain'])
    await expect(failed.get()).rejects.toThrow('plain failure')
    // Each heard what it listened to, and events cross after the reply that follows them.
    await a.inspect.stats()
    await b.inspect.stats()
    // Events are the app's: each remote hears every task's, of the kinds it listens to.
    expect(heardA.sort()).toEqual([ra.id, rb.id].sort())
    expect(heardB).toEqual([failed.id])
  })
})

describe('results and progress across the port', () => {
  it('progress() yields each self.progress update in order, then the result; state() and info() read the record', async () => {
    const { remote } = s.connect()
    const r = await remote.task<Tasks['steps']>('work.steps').delay(3)
    const updates = r.progress()
    const seen: StateUpdate[] = []
    const first = await updates.next()
    seen.push(first.value as StateUpdate)
    expect(await r.state()).toBe('PROGRESS')
    expect(await r.info()).toEqual({ step: 'step 1', current: 1, total: 3, percent: 33 })
    for (let i = 0; i < 3; i++) {
      await s.clock.advance(1_000)
      seen.push((await updates.next()).value as StateUpdate)
    }
    expect((await updates.next()).done).toBe(true)
    expect(seen).toEqual([
      { state: 'PROGRESS', info: { step: 'step 1', current: 1, total: 3, percent: 33 } },
      { state: 'PROGRESS', info: { step: 'step 2', current: 2, total: 3, percent: 66 } },
      { state: 'PROGRESS', info: { step: 'step 3', current: 3, total: 3, percent: 100 } },
      { state: 'SUCCESS', info: '3 steps' },
    ])
    expect((await r.status()).task).toBe('work.steps')
  })

  it('forwards task-progress and task-succeeded events with decoded payloads', async () => {
    const { remote } = s.connect()
    const progress: unknown[] = []
    const succeeded: Array<{ id: string; result: unknown }> = []
    remote.events.on('task-progress', (e) => progress.push(e.meta))
    remote.events.on('task-succeeded', (e) => succeeded.push({ id: e.id, result: e.result }))
    await remote.ready
    // A round trip after the subscriptions: they are in place before the task runs.
    await remote.inspect.registered()
    const r = await remote.sendTask('work.steps', [2])
    await s.clock.runAll()
    expect(await r.get()).toBe('2 steps')
    await remote.inspect.stats()
    expect(progress).toEqual([
      { step: 'step 1', current: 1, total: 2, percent: 50 },
      { step: 'step 2', current: 2, total: 2, percent: 100 },
    ])
    expect(succeeded).toEqual([{ id: r.id, result: '2 steps' }])
  })

  it('inspect and control are the app’s own, async', async () => {
    const { remote } = s.connect()
    expect(await remote.inspect.registered()).toEqual(['math.add', 'math.sum', 'work.fail', 'work.steps'])
    const r = await remote.sendTask('math.add', [1, 1], { countdown: 5_000 })
    expect((await remote.inspect.stats()).scheduled).toBe(1)
    await remote.control.revoke(r.id)
    expect(await remote.inspect.revoked()).toEqual([r.id])
    expect(await r.state()).toBe(states.REVOKED)
    expect(await remote.control.purge()).toBe(0)
  })
})

describe('errors across the port', () => {
  it('arrive as the same classes: the app’s checks, the task’s own error, timeouts', async () => {
    const { remote } = s.connect()
    const { NotRegistered, ConfigError, SerializationError, TaskError, TimeoutError } = await import('../../src/index.js')
    const { PaymentDeclined } = await import('./setup.js')
    await expect(remote.sendTask('no.such.task', [])).rejects.toBeInstanceOf(NotRegistered)
    await expect(remote.sendTask('no.such.task', [])).rejects.toMatchObject({ code: 'NOT_REGISTERED' })
    await expect(remote.sendTask('math.add', [1, 2], { countdown: -1 })).rejects.toBeInstanceOf(ConfigError)
    await expect(remote.sendTask('math.add', [{ f: () => 1 }, 2])).rejects.toMatchObject({ name: 'SerializationError', path: 'args[0].f' })
    await expect(remote.sendTask('math.add', [{ f: () => 1 }, 2])).rejects.toBeInstanceOf(SerializationError)
    await expect(remote.control.rateLimit('no.such.task', '1/s')).rejects.toBeInstanceOf(NotRegistered)
    await expect((await remote.sendTask('work.fail', ['range'])).get()).rejects.toBeInstanceOf(RangeError)
    // A class the remote never registered arrives as TaskError carrying its name.
    const declined = await (await remote.sendTask('work.fail', ['declined'])).get({ propagate: false })
    expect(declined).toBeInstanceOf(TaskError)
    expect(declined).toMatchObject({ originalName: 'PaymentDeclined', message: 'card declined' })
    expect(PaymentDeclined.name).toBe('PaymentDeclined')
    // A timeout runs on the app's clock.
    const pending = await remote.sendTask('math.add', [1, 1], { countdown: 60_000 })
    const waiting = pending.get({ timeout: 1_000 }).catch((error: unknown) => error)
    // One round trip: the wait is in place in the app before its clock moves.
    await remote.inspect.stats()
    await s.clock.advance(1_000)
    expect(await waiting).toBeInstanceOf(TimeoutError)
  })

  it('a closed port rejects the calls waiting with ChannelClosedError, and every later call', async () => {
    const { remote, appPort } = s.connect()
    const r = await remote.sendTask('math.add', [1, 1], { countdown: 60_000 })
    const waiting = r.get().catch((error: unknown) => error)
    await remote.inspect.stats()
    appPort.close()
    expect(await waiting).toBeInstanceOf(ChannelClosedError)
    expect(await waiting).toMatchObject({ code: 'CHANNEL_CLOSED' })
    expect(remote.closed).toBe(true)
    await expect(remote.sendTask('math.add', [1, 1])).rejects.toBeInstanceOf(ChannelClosedError)
    await expect(r.state()).rejects.toBeInstanceOf(ChannelClosedError)
  })

  it('a progress() loop in flight rejects with ChannelClosedError when the channel closes', async () => {
    const { remote } = s.connect()
    const r = await remote.task<Tasks['steps']>('work.steps').delay(3)
    const updates = r.progress()
    expect((await updates.next()).value).toMatchObject({ state: 'PROGRESS' })
    const next = updates.next().catch((error: unknown) => error)
    remote.close()
    expect(await next).toBeInstanceOf(ChannelClosedError)
    // The app goes on: the task finishes on the app's clock.
    await s.clock.runAll()
    expect(await s.app.AsyncResult(r.id).get()).toBe('3 steps')
  })

  it('serveApp(...).close() and remote.close() end the channel the same way', async () => {
    const one = s.connect()
    const r1 = await one.remote.sendTask('math.add', [1, 1], { countdown: 60_000 })
    const waiting1 = r1.get().catch((error: unknown) => error)
    await one.remote.inspect.stats()
    one.served.close()
    expect(await waiting1).toBeInstanceOf(ChannelClosedError)

    const two = s.connect()
    const r2 = await two.remote.sendTask('math.add', [1, 1], { countdown: 60_000 })
    const waiting2 = r2.get().catch((error: unknown) => error)
    two.remote.close()
    expect(await waiting2).toBeInstanceOf(ChannelClosedError)
    // The app goes on: the task runs when due.
    await s.clock.advance(60_000)
    expect(await s.app.AsyncResult(r2.id).get()).toBe(2)
  })

  it('calls made before the app listens wait for it (the remote starts first)', async () => {
    const { MessageChannel } = await import('node:worker_threads')
    const { remoteApp, serveApp } = await import('../../src/remote/index.js')
    const { port1, port2 } = new MessageChannel()
    const remote = remoteApp(port2)
    const sent = remote.sendTask<number>('math.add', [2, 3])
    serveApp(s.app, port1)
    expect(await (await sent).get()).toBe(5)
    port1.close()
  })
})
