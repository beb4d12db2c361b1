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
