/** Type tests: a remote's tasks, typed from the task's own type, check canvases as the task's own do. */
import { MessageChannel as NodeMessageChannel, parentPort } from 'node:worker_threads'
import type { Worker as NodeWorker } from 'node:worker_threads'
import { describe, expectTypeOf, it } from 'vitest'
import { Celeriac, chain, chord } from '../../src/index.js'
import type { AsyncResult, GroupResult, TaskInfo } from '../../src/index.js'
import { remoteApp, serveApp } from '../../src/remote/index.js'
import type { RemoteApp, ServedApp } from '../../src/remote/index.js'

const app = new Celeriac()
const add = app.task('types.add', (a: number, b: number) => a + b)
const upper = app.task('types.upper', (text: string) => text.toUpperCase())
const sum = app.task('types.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))
declare const remote: RemoteApp

describe('remote tasks', () => {
  it('take the task type’s arguments and give its result', () => {
    const r = remote.task<typeof add>('types.add')
    expectTypeOf(r.delay(1, 2)).toEqualTypeOf<Promise<AsyncResult<number>>>()
    // @ts-expect-error: add takes numbers
    void r.delay('1', 2)
    expectTypeOf(remote.task(upper).delay('a')).toEqualTypeOf<Promise<AsyncResult<string>>>()
    expectTypeOf(remote.sendTask<number>('types.add', [1, 2])).toEqualTypeOf<Promise<AsyncResult<number>>>()
  })

  it('canvases of remote signatures are typed as the app’s own', () => {
    const r = remote.task<typeof add>('types.add')
    const u = remote.task<typeof upper>('types.upper')
    expectTypeOf(chain(r.s(1, 2), r.s(3)).delay()).toEqualTypeOf<Promise<AsyncResult<number>>>()
    // @ts-expect-error: upper takes a string, add gives a number
    void chain(r.s(1, 2), u.s())
    expectTypeOf(chord([r.s(1, 1), r.s(2, 2)], remote.task<typeof sum>('types.sum').s()).delay()).toEqualTypeOf<Promise<AsyncResult<number>>>()
  })

  it('inspect and control are async', () => {
    expectTypeOf(remote.inspect.active()).toEqualTypeOf<Promise<TaskInfo[]>>()
    expectTypeOf(remote.control.purge()).toEqualTypeOf<Promise<number>>()
    expectTypeOf<GroupResult<number[]>>().toBeObject()
  })
})

describe('ports', () => {
  it('a browser Worker and MessagePort, and Node’s MessagePort, Worker and parentPort are ports as they are', () => {
    const owner = new Celeriac()
    const browserWorker = undefined as unknown as Worker
    const browserPort = undefined as unknown as MessagePort
    expectTypeOf(remoteApp(browserWorker)).toEqualTypeOf<RemoteApp>()
    expectTypeOf(serveApp(owner, browserPort)).toEqualTypeOf<ServedApp>()
    expectTypeOf(remoteApp(new NodeMessageChannel().port1)).toEqualTypeOf<RemoteApp>()
    expectTypeOf(remoteApp(undefined as unknown as NodeWorker)).toEqualTypeOf<RemoteApp>()
    if (parentPort !== null) expectTypeOf(serveApp(owner, parentPort)).toEqualTypeOf<ServedApp>()
    // @ts-expect-error: a port needs postMessage
    void remoteApp({ on: () => undefined })
  })
})
