/**
 * The dashboard's model, without a browser: the task board (bounded, events over inspect,
 * filters, workflow tree), the throughput window, and the event-stream reader.
 */
import { describe, expect, it } from 'vitest'
import { readEvents } from '../../src/dashboard/sse-reader.js'
import { TaskBoard } from '../../src/dashboard/task-board.js'
import { Throughput } from '../../src/dashboard/throughput.js'
import type { DashboardEvent } from '../../src/dashboard/types.js'

const base = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: 't',
  queue: 'q',
  timestamp: 1,
  retries: 0,
  parentId: null,
  rootId: id,
  ...extra,
})
const sent = (id: string, extra: Record<string, unknown> = {}): DashboardEvent => ({ type: 'task-sent', data: { ...base(id, extra), args: [id] } })

describe('TaskBoard', () => {
  it('keeps the last max tasks heard of, newest first, and a row keeps its place when it changes', () => {
    const board = new TaskBoard(3)
    for (const id of ['a', 'b', 'c', 'd']) board.apply(sent(id))
    expect(board.list('all', '').map((r) => r.id)).toEqual(['d', 'c', 'b'])
    board.apply({ type: 'task-succeeded', data: { ...base('b'), result: 2, runtime: 5 } })
    expect(board.list('all', '').map((r) => r.id)).toEqual(['d', 'c', 'b'])
    expect(board.get('b')).toMatchObject({ state: 'SUCCESS', result: 2, runtime: 5, args: ['b'], sent: true })
    expect(board.get('a')).toBeUndefined()
  })

  it('follows progress, keeps an end against a late event, and filters by state group and search', () => {
    const board = new TaskBoard()
    board.apply(sent('x1', { name: 'mail.send' }))
    board.apply(sent('y2', { name: 'report.chunk' }))
    board.apply({ type: 'task-progress', data: { ...base('y2', { name: 'report.chunk' }), state: 'PROGRESS', meta: { current: 1, total: 4, percent: 25 } } })
    board.apply({ type: 'task-failed', data: { ...base('x1'), error: { name: 'TypeError', message: 'no' }, runtime: 1 } })
    board.apply({ type: 'task-received', data: base('x1') })
    expect(board.get('x1')).toMatchObject({ state: 'FAILURE', error: { name: 'TypeError', message: 'no' } })
    expect(board.get('y2')?.progress).toEqual({ current: 1, total: 4, percent: 25 })
    expect(board.list('failed', '').map((r) => r.id)).toEqual(['x1'])
    expect(board.list('running', '').map((r) => r.id)).toEqual(['y2'])
    expect(board.list('all', 'REPORT').map((r) => r.id)).toEqual(['y2'])
    expect(board.list('all', 'x1').map((r) => r.id)).toEqual(['x1'])
  })

  it('merges inspect (running tasks STARTED, ready RECEIVED) and builds a workflow tree by parent', () => {
    const board = new TaskBoard()
    const info = (id: string, parentId: string | null) => ({
      id,
      name: 'w',
      args: [],
      queue: 'q',
      priority: 0,
      eta: null,
      expires: null,
      retries: 0,
      parentId,
      rootId: 'r',
    })
    board.merge({ active: [info('r', null)], reserved: [info('c1', 'r')], scheduled: [], queues: [] })
    board.apply(sent('c2', { rootId: 'r', parentId: 'c1' }))
    expect(board.get('r')?.state).toBe('STARTED')
    expect(board.get('c1')?.state).toBe('RECEIVED')
    const tree = board.workflow(board.get('c2')!)
    expect(tree.map(({ row, depth }) => [row.id, depth])).toEqual([
      ['r', 0],
      ['c1', 1],
      ['c2', 2],
    ])
  })
})

describe('Throughput', () => {
  it('counts ends per second over the last minute, by queue, and forgets older seconds', () => {
    const rates = new Throughput()
    const t0 = 1_000_000_000
    rates.count('succeeded', 'a', t0)
    rates.count('succeeded', 'a', t0 + 100)
    rates.count('failed', 'b', t0 + 1_000)
    const [x, ok, bad] = rates.series(t0 + 1_500)
    expect(x).toHaveLength(60)
    expect(ok.slice(-2)).toEqual([2, 0])
    expect(bad.slice(-2)).toEqual([0, 1])
    expect(rates.perMinute('a', t0 + 1_500)).toBe(2)
    expect(rates.perMinute('a', t0 + 61_000)).toBe(0)
    expect(rates.series(t0 + 61_000)[1].every((n) => n === 0)).toBe(true)
  })
})

describe('readEvents', () => {
  it('reads frames split anywhere across chunks, and skips comments', async () => {
    const text = ': connected\n\nevent: task-sent\ndata: {"id":"a"}\n\n: ping\n\nevent: queue-paused\ndata: {"queue":"q"}\n\n'
    const bytes = new TextEncoder().encode(text)
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7))
        controller.close()
      },
    })
    const seen: DashboardEvent[] = []
    await readEvents(body, (e) => seen.push(e), new AbortController().signal)
    expect(seen).toEqual([
      { type: 'task-sent', data: { id: 'a' } },
      { type: 'queue-paused', data: { queue: 'q' } },
    ])
  })
})
