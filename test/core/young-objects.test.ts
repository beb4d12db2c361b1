/**
 * Messages and result records are made by `new` of a function whose prototype is Object.prototype
 * (model/young.ts: V8 never pretenures them, so a burst's stores into them skip the slow write
 * barrier). They must stay as plain as the object literals they replaced: the same prototype and
 * `constructor`, the same own fields in the same order, equal under toStrictEqual, and unchanged
 * through a structured clone (a worker's post) and JSON (durable storage).
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import type { ResultRecord, TaskMessage } from '../../src/core/model/message.js'
import { rootMessage } from '../../src/core/canvas/expand.js'
import type { Mutation } from '../../src/storage/types.js'

const MESSAGE_FIELDS = [
  'id',
  'task',
  'args',
  'headers',
  'queue',
  'priority',
  'eta',
  'expires',
  'retries',
  'seq',
  'parentId',
  'rootId',
  'groupId',
  'groupIndex',
  'chord',
  'chain',
  'links',
  'linkErrors',
  'timeLimit',
  'softTimeLimit',
  'ignoreResult',
  'acksLate',
  'leased',
  'redelivered',
]

const RECORD_FIELDS = [
  'id',
  'task',
  'state',
  'result',
  'traceback',
  'dateDone',
  'retries',
  'parentId',
  'rootId',
  'groupId',
  'children',
  'expiresAt',
  'acksLate',
]

function expectPlain(value: object, fields: string[]): void {
  expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
  expect(value.constructor).toBe(Object)
  expect(Object.keys(value)).toEqual(fields)
  // A literal of the same fields: equal with types and prototypes compared.
  expect(value).toStrictEqual({ ...value })
  expect(structuredClone(value)).toStrictEqual({ ...value })
  expect(JSON.parse(JSON.stringify(value))).toEqual(JSON.parse(JSON.stringify({ ...value })))
}

describe('messages and records are plain objects', () => {
  it('a root message', () => {
    const message: TaskMessage = rootMessage(
      'young.add',
      [1, 2],
      {},
      {
        now: () => 0,
        newId: () => 'id-1',
        profile: () => undefined,
        route: () => undefined,
        checkQueue: () => undefined,
      },
    )
    expectPlain(message, MESSAGE_FIELDS)
    expect(message).toStrictEqual({
      id: 'id-1',
      task: 'young.add',
      args: [1, 2],
      headers: null,
      queue: 'default',
      priority: 0,
      eta: null,
      expires: null,
      retries: 0,
      seq: 0,
      parentId: null,
      rootId: 'id-1',
      groupId: null,
      groupIndex: null,
      chord: null,
      chain: [],
      links: [],
      linkErrors: [],
      timeLimit: null,
      softTimeLimit: null,
      ignoreResult: false,
      acksLate: false,
      leased: false,
      redelivered: false,
    })
  })

  it('the message a send stores and the record its run stores', async () => {
    const storage = memoryStorage()
    const written: Mutation[] = []
    const write = storage.write.bind(storage)
    storage.write = (mutations) => {
      written.push(...mutations)
      return write(mutations)
    }
    const producer = new Celeriac({ storage, consume: false })
    await producer.start()
    const sent = await producer.sendTask('young.add', [1, 2])
    const message = written.find((m) => m.op === 'put' && m.ns === 'messages')
    expect(message?.op === 'put' ? message.value : undefined).toBeDefined()
    if (message?.op === 'put') expectPlain(message.value as object, MESSAGE_FIELDS)
    await producer.stop()

    const app = new Celeriac({ storage })
    app.task('young.add', (a: number, b: number) => a + b)
    await app.start()
    expect(await app.AsyncResult(sent.id).get({ timeout: 5_000 })).toBe(3)
    const put = written.find((m) => m.op === 'put' && m.ns === 'results')
    expect(put?.op === 'put' ? put.value : undefined).toBeDefined()
    if (put?.op === 'put') {
      const record = put.value as ResultRecord
      expectPlain(record, RECORD_FIELDS)
      expect(record.state).toBe('SUCCESS')
      expect(record.result).toBe(3)
    }
    await app.stop()
  })
})
