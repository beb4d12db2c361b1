/**
 * A reporter that ends the run with what it skipped and why, grouped by reason: the note given
 * to `ctx.skip(note)`, else the reason a skipped describe block carries in its name
 * (`... (skipped: no Redis ...)`), else the test's own `(not here: ...)`. A run filtered with
 * `-t` says only how many it left out.
 */
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node'

export class SkipSummary implements Reporter {
  #filtered = false

  onInit(vitest: Vitest): void {
    this.#filtered = vitest.config.testNamePattern !== undefined
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const reasons = new Map<string, number>()
    let total = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result()
        if (result.state !== 'skipped') continue
        total++
        const why = reasonOf(test, result.note)
        const key = `${test.project.name}: ${why}`
        reasons.set(key, (reasons.get(key) ?? 0) + 1)
      }
    }
    if (total === 0) return
    const out = process.stdout
    if (this.#filtered) {
      out.write(`\n${String(total)} tests skipped (left out by the -t filter, or skipped as below when they match it)\n`)
      return
    }
    out.write(`\nSkipped ${String(total)} tests:\n`)
    for (const [reason, count] of [...reasons].sort((a, b) => b[1] - a[1])) out.write(`  ${String(count).padStart(5)}  ${reason}\n`)
  }
}

function reasonOf(test: TestCase, note: string | undefined): string {
  if (note !== undefined && note !== '') return note
  const own = /\(((?:not here|skipped)[:,]? [^)]*)\)/.exec(test.name)
  if (own !== null) return own[1]!
  for (let suite = test.parent; suite.type === 'suite'; suite = suite.parent) {
    const named = /(?:\(skipped: ([^)]*)\)|: skipped, (.*))$/.exec(suite.name)
    if (named !== null) return named[1] ?? named[2]!
  }
  const mode = test.options.mode
  return mode === 'todo' ? 'todo' : `${test.module.moduleId.replace(/^.*\/test\//, 'test/')}: ${mode} with no reason given`
}
