/**
 * The limiter window and the claim's processedOn. BullMQ on Redis stamps processedOn with the
 * worker's time when it sent the claim, before the script opens the window, so claims are a
 * whole window apart in processedOn. Time can pass inside a claim (a GC pause, a descheduled
 * thread on a loaded machine): the stamp must still not come after the window it opened.
 */
import { describe, expect, it } from 'vitest'
import { addJob } from '../../src/bullmq/add.js'
import { fetchNext } from '../../src/bullmq/claim.js'
import { Store } from '../../src/bullmq/store.js'
import { systemClock } from '../../src/core/time/clock.js'
import { memoryStorage } from '../../src/storage/memory.js'

const WINDOW = 100
const PAUSE = 30

/** Spins the thread for `ms` of real time, as a GC pause or a descheduled thread would. */
function stall(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy: the point is that no other code runs meanwhile
  }
}

describe('a global rate limit of one claim per window', () => {
  it('keeps claims a window apart in processedOn when time passes inside a claim', async () => {
    const store = new Store(memoryStorage(), systemClock(), false)
    const q = store.queue('limiter-window', 'q')
    q.meta.set('max', '1')
    q.meta.set('duration', String(WINDOW))
    for (let n = 0; n < 3; n++) addJob(q, { name: 'x', data: '{}', opts: {}, timestamp: Date.now() }, '')
    // The second claim is the slow one: claims 1 and 3 are quick.
    let actives = 0
    const emit = q.emit.bind(q)
    q.emit = (fields) => {
      if (fields.event === 'active' && ++actives === 2) stall(PAUSE)
      emit(fields)
    }
    const claimed: string[] = []
    while (claimed.length < 3) {
      const result = fetchNext(q, { token: 't', lockDuration: 30_000 })
      if (result === undefined) throw new Error('a job went missing')
      const [, id, wait] = result
      if (id !== 0) claimed.push(id)
      else await new Promise((r) => setTimeout(r, wait))
    }
    const starts = claimed.map((id) => q.jobs.get(id)!.processedOn!)
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(WINDOW)
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(WINDOW)
  })
})
