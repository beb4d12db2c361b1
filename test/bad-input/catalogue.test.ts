/**
 * The bad-input catalogue: every entry point, each case refused at the call with a typed error
 * (class, `code`, a message naming the bad field) in the way the call reports errors (DESIGN §3:
 * async calls reject, constructors and setters throw), and the engine still runs a task after
 * it. One started app per combination serves every case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forEachCombo, setup } from '../conformance/setup.js'
import type { Harness } from '../conformance/setup.js'
import type { InTaskRefusal } from '../conformance/tasks-bad-input.js'
import type { BadInputCase } from './case.js'
import { CANVAS_CASES } from './canvas.js'
import { RESULT_AND_CONTROL_CASES } from './results-control.js'
import { SEND_CASES } from './sends.js'

const CASES: BadInputCase[] = [...SEND_CASES, ...CANVAS_CASES, ...RESULT_AND_CONTROL_CASES]

it('the catalogue has at least 120 cases, each named once', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(120)
  const names = CASES.map((c) => `${c.entry}: ${c.label}`)
  expect(new Set(names).size).toBe(names.length)
})

/** The error a case got, checked to have come the way its call reports errors. */
async function refusalOf(c: BadInputCase, h: Harness): Promise<{ name: string; code: unknown; message: string; error?: unknown }> {
  if (c.how === 'throws') {
    try {
      const returned = c.call(h)
      // A promise here would be an async call that did not throw at once.
      if (returned instanceof Promise) await returned.catch(() => undefined)
    } catch (error) {
      const e = error as Error & { code?: unknown }
      return { name: e.name, code: e.code, message: e.message, error }
    }
    return expect.unreachable('the call should have thrown')
  }
  if (c.how === 'rejects') {
    let returned: unknown
    try {
      returned = c.call(h)
    } catch (error) {
      return expect.unreachable(`an async call must reject, not throw: ${String(error)}`)
    }
    expect(returned).toBeInstanceOf(Promise)
    return (returned as Promise<unknown>).then(
      () => expect.unreachable('the call should have been refused'),
      (error: unknown) => {
        const e = error as Error & { code?: unknown }
        return { name: e.name, code: e.code, message: e.message, error }
      },
    )
  }
  const report = (await c.call(h)) as InTaskRefusal
  expect(report.refused, 'the call inside the task was refused').toBe(true)
  expect(report.sync, c.how === 'inTaskThrows' ? 'it threw at the call' : 'it rejected (a send is async)').toBe(c.how === 'inTaskThrows')
  return report
}

forEachCombo('bad-input catalogue', (combo) => {
  let h: Harness
  let runs = 0
  beforeAll(async () => {
    h = await setup(combo)
  })
  afterAll(async () => h.stop())

  describe.each(groupByEntry(CASES))('%s', (_entry, cases) => {
    it.each(cases.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
      const refusal = await refusalOf(c, h)
      if (refusal.error !== undefined) expect(refusal.error).toBeInstanceOf(c.error)
      expect(refusal.name).toBe(c.error.prototype.name)
      expect(refusal.code).toBe(c.code)
      expect(refusal.message).toContain(c.field)
      // The engine still works: a task sent after the refusal runs.
      const marker = `after ${String(++runs)}`
      expect(await (await h.tasks.coreEcho.delay(marker)).get({ timeout: 60_000 })).toBe(marker)
    })
  })
})

function groupByEntry(cases: readonly BadInputCase[]): Array<[string, BadInputCase[]]> {
  const out = new Map<string, BadInputCase[]>()
  for (const c of cases) out.set(c.entry, [...(out.get(c.entry) ?? []), c])
  return [...out]
}
