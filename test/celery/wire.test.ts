/**
 * The Celery wire's pure parts, without Redis or Python: Celery's result meta read as a
 * ResultRecord, values across the JSON boundary, and the envelope's fixed fields.
 */
import { message as fixture } from '../transport/message.js'
import { afterEach, describe, expect, it } from 'vitest'
import { toEnvelope } from '../../src/celery/envelope.js'
import { recordFromMeta, metaFromRecord } from '../../src/celery/result-meta.js'
import { fromWire, toWire } from '../../src/celery/wire-json.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import { decode } from '../../src/core/serializer/decode.js'
import { encode } from '../../src/core/serializer/encode.js'
import { SerializationError, TaskError, TaskRevokedError } from '../../src/index.js'

const savedTz = process.env.TZ

afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ
  else process.env.TZ = savedTz
})

describe("Celery's result meta as a ResultRecord", () => {
  it("reads Celery 5.2's naive date_done as UTC, whatever the local time zone", () => {
    process.env.TZ = 'America/New_York'
    const naive = recordFromMeta('a', JSON.stringify({ status: 'SUCCESS', result: 1, date_done: '2026-12-06T06:03:17.280769', task_id: 'a' }))
    const offset = recordFromMeta('b', JSON.stringify({ status: 'SUCCESS', result: 1, date_done: '2026-12-06T06:03:17.280769+00:00', task_id: 'b' }))
    expect(naive?.dateDone).toBe(Date.UTC(2026, 11, 6, 6, 3, 17, 280))
    expect(offset?.dateDone).toBe(Date.UTC(2026, 11, 6, 6, 3, 17, 280))
  })

  it('reads children tuples, parent and group, and ignores keys it does not know (result_extended)', () => {
    const record = recordFromMeta(
      'a',
      JSON.stringify({
        status: 'SUCCESS',
        result: { $: 'not a tag', n: [1] },
        children: [
          [['c1', null], null],
          [['g1', null], [[['m1', null], null]]],
        ],
        parent_id: 'p',
        group_id: 'g',
        name: 'tasks.x',
        worker: 'w@h',
        task_id: 'a',
      }),
    )!
    expect(record).toMatchObject({ id: 'a', task: 'tasks.x', state: 'SUCCESS', parentId: 'p', groupId: 'g', children: ['c1', 'g1'] })
    // An object with a `$` key of its own arrives as that object, not as a tag.
    expect(decode(record.result)).toEqual({ $: 'not a tag', n: [1] })
  })

  it('reads an exception dict as an error with the Python class name, args and module', () => {
    const record = recordFromMeta(
      'a',
      JSON.stringify({ status: 'FAILURE', result: { exc_type: 'CustomError', exc_message: ['bad', 2], exc_module: 'tasks' }, traceback: 'Traceback ...' }),
    )!
    const error = decode(record.result) as TaskError & { args: unknown; module: unknown }
    expect(error).toBeInstanceOf(TaskError)
    expect(error).toMatchObject({ originalName: 'CustomError', args: ['bad', 2], module: 'tasks', message: '["bad",2]' })
    const revoked = recordFromMeta(
      'b',
      JSON.stringify({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' } }),
    )!
    expect(decode(revoked.result)).toBeInstanceOf(TaskRevokedError)
  })

  it('is not a record when the value is not Celery meta', () => {
    expect(recordFromMeta('a', 'not json')).toBeUndefined()
    expect(recordFromMeta('a', '[1, 2]')).toBeUndefined()
    expect(recordFromMeta('a', '{"result": 1}')).toBeUndefined()
  })

  it("writes celeriac's own errors with their celery.exceptions module, so Python raises its real class", () => {
    const meta = metaFromRecord({
      id: 'a',
      task: 't',
      state: 'REVOKED',
      result: encode(new TaskRevokedError('revoked')),
      traceback: null,
      dateDone: Date.UTC(2026, 0, 1),
      retries: 0,
      parentId: null,
      rootId: null,
      groupId: null,
      children: [],
      expiresAt: null,
      acksLate: false,
    })
    expect(meta).toMatchObject({
      status: 'REVOKED',
      result: { exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions' },
      date_done: '2026-01-01T00:00:00.000+00:00',
    })
  })
})

describe('values across the JSON boundary', () => {
  it('sends plain JSON as is, a Date as ISO text and undefined as null, and refuses what Python JSON lacks', () => {
    expect(toWire(encode([1, 'é', { a: [true, null] }, new Date(Date.UTC(2026, 0, 1)), undefined]), 'args')).toEqual([
      1,
      'é',
      { a: [true, null] },
      '2026-01-01T00:00:00.000+00:00',
      null,
    ])
    expect(toWire(encode({ $: 'mine' }), 'args')).toEqual({ $: 'mine' })
    expect(() => toWire(encode([new Set([1])]), 'args')).toThrow(SerializationError)
    expect(() => toWire(encode({ x: [Number.NaN] }), 'args')).toThrow(/at args\.x\[0\]/)
    expect(fromWire({ $: 'x' })).toEqual({ $: 'Object', v: { $: 'x' } })
  })
})

describe('the envelope', () => {
  // seq 0 and rootId 'id-1': the envelope must not depend on the engine's local order.
  const message: TaskMessage = {
    ...fixture('id-1', { args: [1, { __celery_kwargs__: { y: 2 } }], headers: { lang: 'override attempt', x: 1 }, queue: 'q', priority: 5 }),
    seq: 0,
  }

  it('always has what a Python worker dies without, and a three-element base64 body', () => {
    const envelope = toEnvelope(message, '1@host', 0)
    const parsed = JSON.parse(envelope.text) as {
      body: string
      'content-type': string
      headers: Record<string, unknown>
      properties: { delivery_tag: string; delivery_info: unknown; priority: number; body_encoding: string }
    }
    expect(parsed['content-type']).toBe('application/json')
    expect(parsed.properties.delivery_tag).toMatch(/^[0-9a-f-]{36}$/)
    expect(parsed.properties.delivery_info).toEqual({ exchange: '', routing_key: 'q' })
    expect(parsed.properties.body_encoding).toBe('base64')
    // celeriac 5 (higher first) is Celery 4 (0 first): the step-3 list.
    expect(parsed.properties.priority).toBe(4)
    expect(envelope.priority).toBe(4)
    expect(parsed.headers).toMatchObject({ lang: 'js', task: 'tasks.add', id: 'id-1', x: 1, root_id: 'id-1', timelimit: [null, null] })
    const body = JSON.parse(Buffer.from(parsed.body, 'base64').toString('utf8')) as unknown[]
    expect(body).toEqual([[1], { y: 2 }, { callbacks: null, errbacks: null, chain: null, chord: null }])
  })
})
