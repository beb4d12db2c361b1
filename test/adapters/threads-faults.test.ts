/**
 * 100 consecutive worker faults of mixed kinds on the threads executor, with bystanders held
 * behind each: its own file (it is most of the fault tests' time) so that vitest runs it beside
 * the rest of test/adapters/threads.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { TaskRevokedError, TimeLimitExceeded, WorkerLostError, states } from '../../src/index.js'
import { OOM_LIMITS, failsWith, poolRestored, start, stopAppsAfterEach } from './threads-harness.js'

stopAppsAfterEach()

describe('threads executor: faults', () => {
  it('survives 100 consecutive worker faults of mixed kinds with bystanders held behind them: every task ends exactly as it should', async () => {
    const { app, executor } = await start({ resourceLimits: OOM_LIMITS })
    const kinds = ['exit', 'throw-top-level', 'spin-limit', 'spin-terminate', 'oom'] as const
    const expected = {
      exit: [states.FAILURE, WorkerLostError],
      'throw-top-level': [states.FAILURE, WorkerLostError],
      oom: [states.FAILURE, WorkerLostError],
      'spin-limit': [states.FAILURE, TimeLimitExceeded],
      'spin-terminate': [states.REVOKED, TaskRevokedError],
    } as const
    for (let i = 0; i < 100; i++) {
      const kind = kinds[i % kinds.length]!
      const label = `${kind} #${String(i)}`
      const fault =
        kind === 'spin-limit'
          ? await app.sendTask('fault.spin', [], { timeLimit: 50 })
          : kind === 'spin-terminate'
            ? await app.sendTask('fault.spin')
            : await app.sendTask(`fault.${kind}`)
      // Seven more fill both workers' prefetch (2 x 4): those held behind the fault on its worker
      // have not started when it dies, so they must be run by another worker.
      const bystanders = []
      for (let j = 0; j < 7; j++) bystanders.push(await app.sendTask<{ value: number; redelivered: boolean }>('fault.bystander', [i * 10 + j]))
      if (kind === 'spin-terminate') {
        while ((await fault.state()) !== states.STARTED) await new Promise((resolve) => setTimeout(resolve, 2))
        await fault.revoke({ terminate: true })
      }
      const [state, cls] = expected[kind]
      await failsWith(fault, state, cls, label)
      let redelivered = 0
      for (const [j, bystander] of bystanders.entries()) {
        const out = await bystander.get()
        expect(out.value, label).toBe(2 * (i * 10 + j))
        expect(await bystander.state(), label).toBe(states.SUCCESS)
        if (out.redelivered) redelivered++
      }
      expect(redelivered, `${label}: bystanders held by the dying worker`).toBeGreaterThan(0)
      await poolRestored(executor, 2)
      // Exactly the fault's worker was lost and replaced.
      expect(executor.replaced, label).toBe(i + 1)
    }
    expect(await (await app.sendTask('fault.ok', [5])).get()).toBe(10)
  }, 180_000)
})
