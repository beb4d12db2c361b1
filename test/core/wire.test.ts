/**
 * The compact form of what crosses a worker boundary: a run reaches the worker's runtime with
 * every field it reads as sent, and the hot replies come back as the protocol's messages.
 */
import { describe, expect, it } from 'vitest'
import { flatBatch, pushReport, readBatch, readReports, runFromWire, singleMessage, wireRun } from '../../src/core/executor/wire.js'
import type { WireToRuntime } from '../../src/core/executor/wire.js'
import type { Encoded } from '../../src/core/model/json.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { FromRuntime, RunJob, ToRuntime } from '../../src/core/model/protocol.js'
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
})

describe('a batch to a worker', () => {
  /** `items` as the pool posts them, cloned as they cross, read back as the worker's runtime gets them. */
  const roundTrip = (items: WireToRuntime[]): ToRuntime[] => {
    const read: ToRuntime[] = []
    readBatch(crossed(flatBatch(items)), (m) => read.push(m))
    return read
  }
  const run = (id: string, start: RunJob['start'], hostname: string, fields: Partial<TaskMessage> = {}): RunJob => ({
    message: message({ id, rootId: id, ...fields }),
    hostname,
    start,
  })

  it('reads back each message in order, each run with its own task, start, hostname and queue, equal to the run before it or not', () => {
    const cancel = { type: 'cancel', id: 'x', reason: 'revoked' } as const
    const jobs = [
      run('a', 'on-arrival', 'h1', { queue: 'q1' }),
      run('b', 'report', 'h1', { queue: 'q2' }),
      run('c', 'report', 'h2', { task: 't.mul', queue: 'q1' }),
      run('d', 'report', 'h2', { task: 't.mul', queue: 'q1', retries: 2, args: [] }),
      run('e', 'lease-first', 'h1', { queue: 'q1' }),
    ]
    const items: WireToRuntime[] = [
      wireRun(jobs[0]!),
      wireRun(jobs[1]!),
      cancel,
      wireRun(jobs[2]!),
      wireRun(jobs[3]!),
      { type: 'committed', id: 'b' },
      wireRun(jobs[4]!),
    ]
    const read = roundTrip(items)
    expect(read.map((m) => (m.type === 'run' ? `run ${m.jobs[0]!.message.id}` : `${m.type} ${m.id}`))).toEqual([
      'run a',
      'run b',
      'cancel x',
      'run c',
      'run d',
      'committed b',
      'run e',
    ])
    const runs = read.flatMap((m) => (m.type === 'run' ? m.jobs : []))
    expect(runs.map((j) => ({ ...pick(j.message), hostname: j.hostname, start: j.start }))).toEqual(
      jobs.map((j) => ({ ...pick(j.message), hostname: j.hostname, start: j.start })),
    )
    expect(read[2]).toEqual(cancel)
  })

  it('carries a task, start, hostname and queue once for the runs of a batch that share them', () => {
    const jobs = ['a', 'b', 'c', 'd'].map((id) => run(id, 'report', 'celeriac@host'))
    const flat = flatBatch(jobs.map((j) => wireRun(j)))
    for (const value of ['t.add', 'report', 'celeriac@host', 'celery']) expect(flat.filter((v) => v === value)).toHaveLength(1)
    expect(roundTrip(jobs.map((j) => wireRun(j))).map((m) => (m.type === 'run' ? m.jobs[0]!.message.task : m.type))).toEqual([
      't.add',
      't.add',
      't.add',
      't.add',
    ])
  })

  it('tells a batch of one message from a larger one', () => {
    const one = wireRun(run('a', 'report', 'h'))
    const cancel = { type: 'cancel', id: 'a', reason: 'revoked' } as const
    expect(singleMessage(flatBatch([one]))).toBe(true)
    expect(singleMessage(flatBatch([cancel]))).toBe(true)
    expect(singleMessage(flatBatch([one, wireRun(run('b', 'report', 'h'))]))).toBe(false)
    expect(singleMessage(flatBatch([one, cancel]))).toBe(false)
    expect(singleMessage(flatBatch([cancel, cancel]))).toBe(false)
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
