/**
 * A worker's runtime holds an early-ack run on durable storage until the engine says its lease is
 * stored (RunJob `start: 'lease-first'`, then `go`): it says `started` at once, the body waits for `go`, and a
 * cancel that comes first ends it without running it.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac } from '../../src/index.js'
import { rootMessage } from '../../src/core/canvas/expand.js'
import type { ExpandEnv } from '../../src/core/canvas/expand.js'
import { TaskRuntime } from '../../src/core/executor/executor.js'
import type { FromRuntime, RunJob } from '../../src/core/model/protocol.js'
import { decodeError } from '../../src/core/serializer/decode.js'

const ENV: ExpandEnv = { now: () => 0, newId: () => 'unused', profile: () => undefined, route: () => undefined, checkQueue: () => undefined }

function setup() {
  const app = new Celeriac({ name: 'worker' })
  const ran: string[] = []
  app.task('lf.step', (label: string) => {
    ran.push(label)
    return label
  })
  const posted: FromRuntime[] = []
  const runtime = new TaskRuntime({ lookup: (name) => app.getTask(name), post: (m) => posted.push(m), reportStart: true, concurrency: 1 })
  const job = (id: string): RunJob => ({
    message: rootMessage('lf.step', [id], { taskId: id }, ENV),
    hostname: 'w',
    start: 'lease-first',
  })
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))
  return { runtime, ran, posted, job, tick }
}

describe('a run held for its lease', () => {
  it('says started at once and runs its body only on go; the next run waits behind it', async () => {
    const t = setup()
    t.runtime.handle({ type: 'run', jobs: [t.job('a'), t.job('b')] })
    await t.tick()
    expect(t.posted).toEqual([{ type: 'started', id: 'a' }])
    expect(t.ran).toEqual([])
    t.runtime.handle({ type: 'go', id: 'a' })
    await t.tick()
    expect(t.ran).toEqual(['a'])
    // a's slot is free: b starts, and waits for its own go.
    expect(t.posted.map((m) => `${m.type} ${m.id}`)).toEqual(['started a', 'outcome a', 'started b'])
    t.runtime.handle({ type: 'go', id: 'b' })
    await t.tick()
    expect(t.ran).toEqual(['a', 'b'])
  })

  it('revoked or stopped before its go: dropped unrun, with nothing to report (the engine settled it)', async () => {
    const t = setup()
    t.runtime.handle({ type: 'run', jobs: [t.job('a'), t.job('b')] })
    t.runtime.handle({ type: 'cancel', id: 'a', reason: 'revoked' })
    await t.tick()
    // Its slot went to b, which now waits for its go.
    expect(t.posted.map((m) => `${m.type} ${m.id}`)).toEqual(['started a', 'started b'])
    t.runtime.handle({ type: 'go', id: 'a' })
    await t.tick()
    expect(t.ran).toEqual([])
  })

  it('a time limit that runs out before its go fails it unrun, with the limit error', async () => {
    const t = setup()
    t.runtime.handle({ type: 'run', jobs: [t.job('a')] })
    t.runtime.handle({ type: 'cancel', id: 'a', reason: 'soft-time-limit' })
    await t.tick()
    expect(t.ran).toEqual([])
    const outcome = t.posted[1]
    expect(outcome).toMatchObject({ type: 'outcome', id: 'a', hooks: false, outcome: { type: 'failure' } })
    const error = outcome?.type === 'outcome' && outcome.outcome.type === 'failure' ? decodeError(outcome.outcome.error) : undefined
    expect(error?.name).toBe('SoftTimeLimitExceeded')
  })
})
