/**
 * The task context of a realm with no AsyncLocalStorage that runs one task at a time (a browser
 * Web Worker, `tasksPerWorker: 1`): a plain send is the child of the only run in progress, and
 * while two are in progress (one waits for a result, so a held run started) it is refused,
 * never given to the wrong task. Run here on the worker's runtime, in Node without the Node entry
 * (so no AsyncLocalStorage is injected), with a runtime that lets two runs go at once.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, ConfigError } from '../../src/index.js'
import { rootMessage } from '../../src/core/canvas/expand.js'
import type { ExpandEnv } from '../../src/core/canvas/expand.js'
import { TaskRuntime } from '../../src/core/executor/executor.js'
import type { FromRuntime } from '../../src/core/model/protocol.js'
import { currentRun, soleRunContext, useAsyncContext } from '../../src/core/task/current-run.js'
import { collectRealmApps } from '../../src/core/task/registry.js'

const ENV: ExpandEnv = { now: () => 0, newId: () => 'unused', profile: () => undefined, route: () => undefined, checkQueue: () => undefined }

describe('the task context of a one-task-at-a-time worker', () => {
  it('a plain send belongs to the only run in progress; with two in progress it is refused', async () => {
    // A worker realm with no async context injected.
    collectRealmApps()
    expect(currentRun()).toBeUndefined()
    let runtime: TaskRuntime | undefined
    useAsyncContext(() => soleRunContext(() => runtime?.soleRun()))

    // The worker's own app: never started, as in a worker.
    const app = new Celeriac({ name: 'worker' })
    const child = app.task('w.child', () => 'child')
    const gates = new Map<string, () => void>()
    const outcomes: unknown[] = []
    const parent = app.task('w.parent', async (label: string) => {
      await new Promise<void>((resolve) => gates.set(label, resolve))
      try {
        await child.delay()
        return 'sent'
      } catch (error) {
        outcomes.push(error)
        return 'refused'
      }
    })
    const posted: FromRuntime[] = []
    runtime = new TaskRuntime({ lookup: (name) => app.getTask(name), post: (m) => posted.push(m), concurrency: 2 })
    const job = (id: string, label: string) => ({
      message: { ...rootMessage('w.parent', [label], { taskId: id }, ENV) },
      hostname: 'w',
      start: 'report' as const,
    })
    runtime.handle({ type: 'run', jobs: [job('A', 'a'), job('B', 'b')] })
    await Promise.resolve()
    expect(parent.name).toBe('w.parent')

    // Both in progress: A's send cannot be placed, and is refused.
    gates.get('a')!()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(outcomes).toHaveLength(1)
    expect(outcomes[0]).toBeInstanceOf(ConfigError)
    expect((outcomes[0] as Error).message).toContain('tasksPerWorker: 1')

    // A is over; B alone: its send goes through B's run (an RPC naming B).
    gates.get('b')!()
    await new Promise((resolve) => setTimeout(resolve, 0))
    const sends = posted.filter((m) => m.type === 'rpc')
    expect(sends).toHaveLength(1)
    expect(sends[0]).toMatchObject({ id: 'B', call: { type: 'send' } })
  })
})
