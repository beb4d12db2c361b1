/**
 * `app.events` across processes on the in-memory loopback broker, under one virtual clock: a
 * producer app hears the runs a worker app makes, as the worker emits them, each once. The same
 * on Redis through BullMQ is test/transport/redis-events.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Celeriac, TaskRevokedError, memoryStorage } from '../../src/index.js'
import type { CeleriacEvents, Storage, Task } from '../../src/index.js'
import { type VirtualClock, virtualClock } from '../../src/testing.js'
import { loopbackBroker } from './loopback.js'

const CARRIED = ['task-started', 'task-progress', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked'] as const
type Carried = (typeof CARRIED)[number]
type Heard = [Carried, Parameters<CeleriacEvents[Carried]>[0]]

const apps: Celeriac[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop()
})

function record(app: Celeriac): Heard[] {
  const heard: Heard[] = []
  for (const name of CARRIED) app.events.on(name, (payload: Heard[1]) => heard.push([name, payload]))
  return heard
}

/** An app ("process") on the broker of `store`, on `clock`. */
function processOn(store: Storage, clock: VirtualClock, consume: boolean) {
  const app = new Celeriac({ transport: loopbackBroker(store).transport(), clock, consume })
  apps.push(app)
  return {
    app,
    add: app.task('t.add', (a: number, b: number) => a + b),
    steps: app.task('t.steps', { bind: true }, (self: Task) => {
      self.updateState('PROGRESS', { step: 1 })
      throw new RangeError('after a step')
    }),
    flaky: app.task('t.flaky', { bind: true }, (self: Task) => {
      if (self.request.retries === 0) throw self.retry({ countdown: 1_000 })
      return 'ok'
    }),
  }
}

const names = (heard: Heard[], id: string): string[] => heard.filter(([, e]) => e.id === id).map(([name, e]) => `${name}:${String(e.retries)}`)

describe('app.events across processes (loopback)', () => {
  it('a producer listening from its start hears the worker’s runs, as the worker emits them, each once', async () => {
    const store = memoryStorage()
    const clock = virtualClock()
    const web = processOn(store, clock, false)
    const there = record(web.app)
    await web.app.start()
    const worker = processOn(store, clock, true)
    const here = record(worker.app)
    await worker.app.start()
    const ok = await web.add.delay(2, 2)
    const retried = await web.flaky.delay()
    const failed = await web.steps.delay()
    await clock.runAll()
    expect(await ok.get()).toBe(4)
    expect(await retried.get()).toBe('ok')
    await expect(failed.get()).rejects.toBeInstanceOf(RangeError)
    expect(names(there, ok.id)).toEqual(['task-started:0', 'task-succeeded:0'])
    expect(names(there, retried.id)).toEqual(['task-started:0', 'task-retried:0', 'task-started:1', 'task-succeeded:1'])
    expect(names(there, failed.id)).toEqual(['task-started:0', 'task-progress:0', 'task-failed:0'])
    for (const id of [ok.id, retried.id, failed.id]) expect(names(here, id)).toEqual(names(there, id))
    // The payloads are the worker's own, field for field, but the timestamp (its clock, and here
    // the same) and a runtime measured from its lease.
    for (const [i, [name, payload]] of there.entries()) {
      const [localName, local] = here.filter(([, e]) => e.id === payload.id)[names(there, payload.id).indexOf(`${name}:${String(payload.retries)}`)]!
      expect(localName).toBe(name)
      const { timestamp: _a, runtime: _b, error: remoteError, ...rest } = payload as unknown as Record<string, unknown>
      const { timestamp: _c, runtime: _d, error: localError, ...localRest } = local as unknown as Record<string, unknown>
      expect(rest, `event ${String(i)}`).toEqual(localRest)
      if (localError instanceof Error) {
        expect(remoteError).toBeInstanceOf(localError.constructor)
        expect((remoteError as Error).message).toBe(localError.message)
      }
    }
    // A progress and a failure stored in one write: the broker still keeps it as failed.
    expect(loopbackBroker(store).acks.filter(([id]) => id === failed.id)).toEqual([[failed.id, true]])
  })

  it('a listener added after the producer’s start opens its listening; a revoke is heard with its reason', async () => {
    const store = memoryStorage()
    const clock = virtualClock()
    const web = processOn(store, clock, false)
    await web.app.start()
    const there = record(web.app)
    const r = await web.add.applyAsync([1, 1], { expires: 1_000 })
    await clock.advance(2_000)
    // (The loopback's store does not watch: a worker hears of the listener when it starts. On
    // Redis a worker started before hears of it through the store: redis-events.test.ts.)
    const worker = processOn(store, clock, true)
    await worker.app.start()
    await clock.runAll()
    await expect(r.get()).rejects.toBeInstanceOf(TaskRevokedError)
    expect(there.filter(([, e]) => e.id === r.id).map(([name, e]) => [name, 'reason' in e ? e.reason : undefined])).toEqual([['task-revoked', 'expired']])
  })

  it('with no listener anywhere, runs report nothing to the broker', async () => {
    const store = memoryStorage()
    const clock = virtualClock()
    const worker = processOn(store, clock, true)
    await worker.app.start()
    const heard: unknown[] = []
    const spy = loopbackBroker(store).transport()
    await spy.open({ clock, wake: () => undefined })
    await spy.events([], (e) => heard.push(e))
    const r = await worker.add.delay(1, 1)
    await clock.runAll()
    expect(await r.get()).toBe(2)
    expect(heard).toEqual([])
    await spy.close()
  })
  it('a listener’s record that expired (its process died listening) turns no reports on, and goes; one that holds does', async () => {
    const store = memoryStorage()
    await store.open()
    await store.write([
      { op: 'put', ns: 'meta', key: 'events:dead@1', value: { from: 'dead@1', until: Date.now() - 1 } },
      { op: 'put', ns: 'meta', key: 'events:alive@2', value: { from: 'alive@2', until: Date.now() + 60_000 } },
    ])
    const clock = virtualClock()
    const heard: unknown[] = []
    const spy = loopbackBroker(store).transport()
    await spy.open({ clock, wake: () => undefined })
    await spy.events([], (e) => heard.push(e))
    const worker = processOn(store, clock, true)
    await worker.app.start()
    expect((await store.entries('meta')).map(([key]) => key)).toEqual(['events:alive@2'])
    const r = await worker.add.delay(1, 1)
    await clock.runAll()
    expect(await r.get()).toBe(2)
    expect(heard).toMatchObject([{ type: 'started' }, { type: 'succeeded', result: 2 }])
    // With the live one gone too, a worker started now reports nothing.
    await worker.app.stop()
    apps.splice(0)
    await store.open()
    await store.write([{ op: 'delete', ns: 'meta', key: 'events:alive@2' }])
    heard.length = 0
    const next = processOn(store, clock, true)
    await next.app.start()
    const s = await next.add.delay(2, 2)
    await clock.runAll()
    expect(await s.get()).toBe(4)
    expect(heard).toEqual([])
    await spy.close()
  })
})
