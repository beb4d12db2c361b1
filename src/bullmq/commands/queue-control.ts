import * as removal from '../removal.js'
import { clean } from '../removal.js'
import type { BackendContext } from './context.js'

/** Queue-wide control: pause, drain, clean, obliterate. */

export function pause(c: BackendContext, pause: boolean): Promise<void> {
  return c.run((q) => {
    if (pause) {
      q.meta.set('paused', '1')
      q.delayMarker = false
    } else {
      q.meta.delete('paused')
      // as Redis re-adds its delay marker on resume
      if (q.delayed.size > 0) q.delayMarker = true
    }
    q.touchQueue()
    q.emit({ event: pause ? 'paused' : 'resumed' })
    q.wake()
  })
}

export function drain(c: BackendContext, delayed: boolean): Promise<void> {
  return c.run((q) => removal.drain(q, delayed))
}

export function cleanJobsByState(c: BackendContext, state: string, timestamp: number, limit = 0): Promise<string[]> {
  return c.run((q) => clean(q, state, timestamp, limit))
}

export function obliterate(c: BackendContext, opts: { force: boolean; count: number }): Promise<number> {
  return c.run((q) => {
    const result = removal.obliterate(q, opts.count, opts.force)
    if (result === -1) throw new Error('Cannot obliterate non-paused queue')
    if (result === -2) throw new Error('Cannot obliterate queue with active jobs')
    return result
  })
}

export async function removeOrphanedJobs(): Promise<number> {
  // Jobs and their state are one record here: nothing can be orphaned.
  return 0
}
