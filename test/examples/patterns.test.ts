/**
 * Every pattern of the Celery task-design-patterns document (shared/seeds), rewritten for
 * celeriac in examples/patterns/, runs here and does what the document says it does.
 */
import { describe, expect, it } from 'vitest'
import { run as argumentsPattern } from '../../examples/patterns/arguments.js'
import { run as chunking } from '../../examples/patterns/chunking.js'
import { run as context } from '../../examples/patterns/context.js'
import { run as fundamentals } from '../../examples/patterns/fundamentals.js'
import { run as idempotency } from '../../examples/patterns/idempotency.js'
import { run as inheritance } from '../../examples/patterns/inheritance.js'
import { run as progress } from '../../examples/patterns/progress.js'
import { run as rateLimits } from '../../examples/patterns/rate-limits.js'
import { run as revocation } from '../../examples/patterns/revocation.js'
import { run as workflows } from '../../examples/patterns/workflows.js'

describe('seed patterns', () => {
  it('Task Fundamentals: every way of calling, bound state updates, signatures', async () => {
    const out = await fundamentals()
    expect(out).toMatchObject({
      delay: 4,
      applyAsync: 7,
      countdown: 11,
      eta: 2,
      processed: 'processed 7',
      order: 'order 17 processed',
      byName: 4,
      sig: 4,
      immutable: true,
    })
    expect(out.whileRunning).toEqual({ state: 'PROCESSING', info: { dataId: 7 } })
    expect(out.finalState).toBe('SUCCESS')
  })

  it('Argument Best Practices: ids not objects, missing objects skipped, bad arguments refused at the send', async () => {
    const out = await argumentsPattern()
    expect(out.processed).toBe('processed')
    expect(out.notified).toBe(1)
    expect(out.missing).toBeNull()
    expect(out.warnings).toEqual(['User 99 not found, skipping notification'])
    expect(out.plain).toEqual({ userId: 123, action: 'activate', options: { notify: true } })
    expect(out.refused).toEqual(['args[0]', 'args[2].callback'])
  })

  it('Idempotency: compare-and-set, unique key, deduplication with locks (option and by hand)', async () => {
    const out = await idempotency()
    expect(out.blind).toBe(2)
    expect(out.casCounter).toBe(1)
    expect(out.casResults).toEqual([true, false])
    expect(out.items).toEqual([true, false, 1])
    expect(out.dedupe).toEqual(['r1', null, 'processed', 'skipped'])
    expect(out.processed).toEqual(['r1', 'r2 by hand'])
  })

  it('Workflow Patterns: chain, group, chord and the complex order workflow', async () => {
    const out = await workflows()
    expect(out.chain).toBe('notified')
    expect(out.stored).toEqual([['rows', 'of', 'https://example.org/report']])
    expect(out.notices).toEqual(['pipeline complete'])
    expect(out.group).toEqual([1, 2, 3].map((itemId) => ({ itemId, price: itemId * 10 })))
    expect(out.chord).toBe(60)
    expect(out.complex).toBe('order 7 confirmed: 60')
  })

  it('Task Inheritance: a call wrapper, logging hooks, the notification mixin', async () => {
    const out = await inheritance()
    expect(out.report).toBe('report for monday')
    expect(out.connectionsEnsured).toBe(1)
    expect(out.logged).toBe('fine')
    expect(out.flaky).toBe('flaky')
    expect(out.bad).toBe('Error: cannot process')
    expect(out.email).toEqual({ to: 'ada@example.com', template: 'welcome', maxRetries: 3, defaultRetryDelay: 60_000 })
    expect(out.lines).toEqual([
      'info: Task logged.task[id] succeeded',
      'warn: Task logged.task[id] retrying: Error: temporary',
      'info: Task logged.task[id] succeeded',
      'error: Task logged.task[id] failed: Error: cannot process',
    ])
  })

  it('Task Context: the request fields, and a correlation id through a chain', async () => {
    const out = await context()
    expect(out.inspected).toMatchObject({ taskName: 'ctx.inspect', retries: 0, calledDirectly: false, parentId: null, customHeader: 'hello' })
    expect(out.inspected.rootId).toBe(out.inspected.taskId)
    expect(out.inspected.deliveryInfo).toEqual({ queue: 'default', priority: 0, redelivered: false })
    expect(out.chained).toBe('DATA!')
    expect(out.lines).toEqual(['[abc-123] Processing step one', '[abc-123] Processing step two'])
  })

  it('Progress Tracking: the check_progress view sees PENDING, PROGRESS with percent, then SUCCESS', async () => {
    const out = await progress()
    expect(out.views).toEqual([
      { state: 'PENDING', progress: 0 },
      { state: 'PROGRESS', progress: 50 },
      { state: 'SUCCESS', result: { status: 'complete', processed: 4 } },
    ])
    expect(out.percents).toEqual([25, 50, 75, 100])
  })

  it('Chunking Large Datasets: a chord over chunks of 100 aggregates every item', async () => {
    const out = await chunking()
    expect(out).toEqual({ total: 1_050, chunks: 11, lastChunk: 50, allProcessed: true, lines: ['Processed 1050 items total'] })
  })

  it('Task Revocation: single, terminate, by id, several; a cancelable task stops itself', async () => {
    const out = await revocation()
    expect(out.single).toEqual(['REVOKED', 'revoked'])
    expect(out.terminated).toEqual(['REVOKED', 'terminated'])
    expect(out.byId).toEqual(['REVOKED', 'REVOKED', 'REVOKED'])
    expect(out.processed).toEqual([1, 2])
    expect(out.cleanups).toEqual(['cleaned up'])
  })

  it("Rate Limiting: '10/m', '100/h', '1/s' evenly spaced; the dynamic back-off retries after Retry-After", async () => {
    const out = await rateLimits()
    expect(out.secondsOfEachRun).toEqual({ '10/m': [0, 6, 12], '100/h': [0, 36, 72], '1/s': [0, 1, 2] })
    expect(out.api).toBe('200 OK from /v1/things')
    expect(out.apiCalls).toBe(2)
  })
})
