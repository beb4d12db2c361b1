import { describe, expect, it } from 'vitest'
import { plainMessage } from '../../src/core/model/message.js'
import type { TaskMessage } from '../../src/core/model/message.js'
import { Scheduler } from '../../src/core/time/scheduler.js'
import { virtualClock } from '../../src/testing.js'

let seq = 0
function message(id: string, fields: Partial<TaskMessage> = {}): TaskMessage {
  return { ...plainMessage(id, 't', [], 'default'), seq: ++seq, ...fields }
}

function drain(scheduler: Scheduler, queue = 'default'): string[] {
  const out: string[] = []
  for (let m = scheduler.take(scheduler.queue(queue)); m !== undefined; m = scheduler.take(scheduler.queue(queue))) out.push(m.id)
  return out
}

describe('Scheduler', () => {
  it('takes higher priority first and FIFO among equals', () => {
    const scheduler = new Scheduler(virtualClock(), () => undefined)
    for (const [id, priority] of [
      ['a', 0],
      ['b', 9],
      ['c', 5],
      ['d', 9],
      ['e', 0],
      ['f', 5],
    ] as const)
      scheduler.add(message(id, { priority }))
    expect(drain(scheduler)).toEqual(['b', 'd', 'c', 'f', 'a', 'e'])
    expect(scheduler.readyCount).toBe(0)
  })

  it('keeps FIFO order across a backlog of thousands, taken and added in turns, listed and removed from in the middle', () => {
    // Past the ready lists' chunk size (256) many times over, with the reads and the writes in
    // different chunks, and drained to empty and filled again.
    const scheduler = new Scheduler(virtualClock(), () => undefined)
    const expected: string[] = []
    let next = 0
    const add = (k: number): void => {
      for (let i = 0; i < k; i++) {
        const id = `m${next++}`
        scheduler.add(message(id))
        expected.push(id)
      }
    }
    const take = (k: number): void => {
      const queue = scheduler.queue('default')
      for (let i = 0; i < k; i++) expect(scheduler.take(queue)?.id).toBe(expected.shift())
    }
    add(3_000)
    take(700)
    add(513)
    take(1_025)
    expect(scheduler.ready().map((m) => m.id)).toEqual(expected)
    expect(scheduler.readyCount).toBe(expected.length)
    // Every third one removed: the rest keep their order.
    const removed = new Set(expected.filter((_, i) => i % 3 === 0))
    expect(scheduler.removeWhere((m) => removed.has(m.id)).map((m) => m.id)).toEqual([...removed])
    expected.splice(0, expected.length, ...expected.filter((id) => !removed.has(id)))
    add(300)
    take(400)
    expect(scheduler.ready().map((m) => m.id)).toEqual(expected)
    expect(drain(scheduler)).toEqual(expected)
    expect(scheduler.take(scheduler.queue('default'))).toBeUndefined()
    expected.length = 0
    add(257)
    expect(drain(scheduler)).toEqual(expected)
    expect(scheduler.readyCount).toBe(0)
  })

  it('keeps queues apart', () => {
    const scheduler = new Scheduler(virtualClock(), () => undefined)
    scheduler.add(message('x', { queue: 'a' }))
    scheduler.add(message('y', { queue: 'b' }))
    expect(drain(scheduler, 'b')).toEqual(['y'])
    expect(drain(scheduler, 'a')).toEqual(['x'])
  })

  it('holds a message until its eta, with one clock timer for the earliest, and tells when it is ready', async () => {
    const clock = virtualClock({ now: 0 })
    let ready = 0
    const scheduler = new Scheduler(clock, () => ready++)
    scheduler.add(message('late', { eta: 2_000 }))
    scheduler.add(message('early', { eta: 1_000 }))
    scheduler.add(message('same-as-early', { eta: 1_000 }))
    expect(clock.pending()).toBe(1)
    expect(scheduler.delayed().map((m) => m.id)).toEqual(['early', 'same-as-early', 'late'])
    await clock.advance(999)
    expect(drain(scheduler)).toEqual([])
    await clock.advance(1)
    expect(ready).toBe(1)
    expect(drain(scheduler)).toEqual(['early', 'same-as-early'])
    await clock.advance(1_000)
    expect(drain(scheduler)).toEqual(['late'])
  })

  it('removes matching messages from ready lists and the delayed heap', () => {
    const scheduler = new Scheduler(virtualClock({ now: 0 }), () => undefined)
    scheduler.add(message('r1'))
    scheduler.add(message('r2'))
    scheduler.add(message('d1', { eta: 10 }))
    scheduler.add(message('d2', { eta: 20 }))
    const removed = scheduler.removeWhere((m) => m.id.endsWith('1'))
    expect(removed.map((m) => m.id).sort()).toEqual(['d1', 'r1'])
    expect(scheduler.delayed().map((m) => m.id)).toEqual(['d2'])
    expect(drain(scheduler)).toEqual(['r2'])
  })

  it('stays ordered across many interleaved pushes and takes (heap and FIFO compaction)', () => {
    const scheduler = new Scheduler(virtualClock({ now: 0 }), () => undefined)
    const taken: string[] = []
    for (let i = 0; i < 5_000; i++) {
      scheduler.add(message(`m${String(i)}`))
      if (i % 3 === 0) taken.push(scheduler.take(scheduler.queue('default'))!.id)
    }
    taken.push(...drain(scheduler))
    expect(taken).toEqual(Array.from({ length: 5_000 }, (_, i) => `m${String(i)}`))
  })
})
