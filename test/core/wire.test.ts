/**
 * The compact form of what crosses a worker boundary: a run reaches the worker's runtime with
 * every field it reads as sent, and the hot replies come back as the protocol's messages.
 */
import { describe, expect, it } from 'vitest'
import { pushReport, readReports, runFromWire, toRuntimeFromWire, wireRun } from '../../src/core/executor/wire.js'
import type { Encoded } from '../../src/core/model/json.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { FromRuntime, RunJob } from '../../src/core/model/protocol.js'
import { encode, encodeError } from '../../src/core/serializer/encode.js'
import { message as baseMessage } from '../transport/message.js'

/** A run's message, with fields a worker reads set off their usual values where the test says. */
function message(fields: Partial<TaskMessage> = {}): TaskMessage {
  return baseMessage('a', { task: 't.add', args: [encode(1, 'args'), encode(new Date(5), 'args')], queue: 'celery', seq: 7, ...fields })
}

/** The fields a worker's runtime reads (`self.request` and the tracer). */
const READ = [
  'id',
  'task',
  'args',
  'headers',
  'queue',
  'priority',
  'eta',
  'expires',
  'retries',
  'parentId',
  'rootId',
  'groupId',
  'groupIndex',
  'chord',
  'redelivered',
] as const

const pick = (m: TaskMessage) => Object.fromEntries(READ.map((key) => [key, m[key]]))

/** Through a structured clone, as a postMessage does. */
const crossed = <T>(value: T): T => structuredClone(value)

describe('the wire form of a run', () => {
  it('carries a plain run with its usual fields left out, and the worker reads every field as sent', () => {
    const job: RunJob = { message: message(), hostname: 'host', start: 'report' }
    const wire = wireRun(job)
    expect(wire[6]).toBe(0)
    const back = runFromWire(crossed(wire))
    expect(pick(back.message)).toEqual(pick(job.message))
    expect(back.hostname).toBe('host')
    expect(back.start).toBe('report')
  })

  it('carries each field that differs from its usual value', () => {
    const sent = message({
      headers: encode({ trace: 'x' }, 'headers'),
      queue: 'mail',
      priority: 3,
      eta: 1000,
      expires: 2000,
      retries: 2,
      parentId: 'p',
      rootId: 'r',
      groupId: 'g',
      groupIndex: 0,
      chord: { id: 'c', size: 2, index: 1 },
      redelivered: true,
    })
    const back = runFromWire(crossed(wireRun({ message: sent, hostname: 'h', start: 'lease-first' })))
    expect(pick(back.message)).toEqual(pick(sent))
    expect(back.start).toBe('lease-first')
  })

  it('sends a run with the start it is given', () => {
    const job: RunJob = { message: message(), hostname: 'host', start: 'report' }
    expect(runFromWire(wireRun(job, 'on-arrival')).start).toBe('on-arrival')
  })

  it('reads other messages to a runtime as they are', () => {
    const cancel = { type: 'cancel', id: 'a', reason: 'revoked' } as const
    expect(toRuntimeFromWire(cancel)).toBe(cancel)
    expect(toRuntimeFromWire(wireRun({ message: message(), hostname: 'h', start: 'record' }))).toMatchObject({
      type: 'run',
      jobs: [{ message: { id: 'a' }, start: 'record' }],
    })
  })
})

describe('the wire form of what a runtime reports', () => {
  const reports: FromRuntime[] = [
    { type: 'started', id: 'a' },
    { type: 'started', id: 'a', onArrival: true },
    { type: 'outcome', id: 'a', outcome: { type: 'success', value: encode(new Map([[1, 2]]), 'result') }, hooks: false },
    { type: 'outcome', id: 'a', outcome: { type: 'success', value: null }, hooks: true },
    { type: 'outcome', id: 'a', outcome: { type: 'failure', error: encodeError(new TypeError('no')) }, hooks: false },
    { type: 'finished', id: 'a' },
    { type: 'log', id: 'a', level: 'info', text: 'hi' },
  ]

  /** `reports` as one post of a worker, cloned as it crosses, read back. */
  const roundTrip = (sent: FromRuntime[], own: (copy: string) => string | undefined = () => undefined): FromRuntime[] => {
    const post: Array<Encoded | FromRuntime> = []
    for (const report of sent) pushReport(post, report)
    const read: FromRuntime[] = []
    readReports(crossed(post), own, (m) => read.push(m))
    return read
  }

  it.each(reports)('reads back %j as it was reported', (report) => {
    expect(roundTrip([report])).toEqual([report])
  })

  it('reads back every report of a post in order, whatever the values next to the markers', () => {
    const success = (id: string, value: Encoded): FromRuntime => ({ type: 'outcome', id, outcome: { type: 'success', value }, hooks: false })
    // Values equal to the markers (0, 1), a string, an array and an object in the value's place.
    const sent = [
      reports[0]!,
      success('a', 1),
      success('b', 0),
      reports[6]!,
      { type: 'started', id: 'c' } as const,
      success('c', 'x'),
      success('d', [0, 1]),
      reports[4]!,
      success('e', { 1: 0 }),
    ]
    expect(roundTrip(sent)).toEqual(sent)
  })

  it('sends a start and a plain success flat, the rest as their objects', () => {
    const post: Array<Encoded | FromRuntime> = []
    for (const report of [reports[0]!, reports[2]!, reports[3]!]) pushReport(post, report)
    expect(post).toEqual([0, 'a', 1, 'a', (reports[2] as { outcome: { value: Encoded } }).outcome.value, reports[3]])
  })

  it('gives a start and a plain success the id the pool has for them, asked in order', () => {
    const asked: string[] = []
    const own = (copy: string): string | undefined => {
      asked.push(copy)
      return copy === 'a' ? 'A' : undefined
    }
    const read = roundTrip([{ type: 'started', id: 'a' }, reports[5]!, { type: 'outcome', id: 'b', outcome: { type: 'success', value: 2 }, hooks: false }], own)
    expect(read.map((m) => m.id)).toEqual(['A', 'a', 'b'])
    expect(asked).toEqual(['a', 'b'])
  })
})
