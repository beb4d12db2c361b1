/**
 * The pool's books (src/core/executor/pool-runs.ts): which worker holds which run, in the order
 * sent, kept in step with its counts whatever order the outcomes come back in.
 */
import { describe, expect, it } from 'vitest'
import { HeldRuns, newSlot } from '../../src/core/executor/pool-runs.js'
import type { PoolWorker } from '../../src/core/executor/pool-worker.js'
import type { RunJob } from '../../src/core/model/protocol.js'

const worker = { post: () => undefined, terminate: async () => undefined } as unknown as PoolWorker
const job = (id: string): RunJob => ({ message: { id }, hostname: 'h', start: 'record' }) as unknown as RunJob

describe('HeldRuns', () => {
  it('keeps a worker’s runs in the order sent, and empties it whatever order their outcomes come in', () => {
    const held = new HeldRuns()
    const slot = newSlot(worker)
    const ids = ['a', 'b', 'c', 'd', 'e']
    for (const id of ids) held.add(job(id), slot, false)
    expect(slot.order.map((run) => run.job.message.id)).toEqual(ids)
    for (const id of ['c', 'a', 'e', 'b']) held.release(slot, id)
    expect(slot.order.map((run) => run.job.message.id)).toEqual(['d'])
    // A second word for a run that left changes nothing.
    held.release(slot, 'c')
    expect(slot.order.map((run) => run.job.message.id)).toEqual(['d'])
    expect(slot.jobs).toBe(1)
    held.release(slot, 'd')
    expect(slot.order).toEqual([])
    expect(slot.jobs).toBe(0)
  })

  it('finds a report’s run among the first ones sent, under the pool’s own id, and nothing for a run it no longer holds', () => {
    const held = new HeldRuns()
    const slot = newSlot(worker)
    for (let i = 0; i < 20; i++) held.add(job(`task-${String(i)}`), slot, false)
    const own = slot.order[3]!.job.message.id
    expect(held.sent(slot, ['task', '3'].join('-'))?.job.message.id).toBe(own)
    // Past the first few compared, the copy serves (a Map lookup by the pool), as for a run not held.
    expect(held.sent(slot, 'task-15')).toBeUndefined()
    expect(held.get('task-15')?.job.message.id).toBe('task-15')
    held.release(slot, 'task-3')
    expect(held.sent(slot, 'task-3')).toBeUndefined()
  })
})
