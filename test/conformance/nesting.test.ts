/**
 * Issue 13 point 2: every nesting Celery accepts works, with Celery's result (value and handle
 * shape), and nothing wedges the engine. The shapes are made programmatically
 * (nesting-shapes.ts): each chain / group / chord at depth 1, in every slot of another (chain
 * first / middle / last step, group member, chord header member, chord body) at depth 2, and
 * again at depth 3. Each test's title names the Celery rules its expected result follows
 * (RULES in nesting-shapes.ts cites the source or test of each). nesting-edges.test.ts has the
 * special cases (empty and one-member groups, refused shapes, errors while expanding).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { GroupResult } from '../../src/index.js'
import { Labels, build, describeHandle, expectIdle, expected, labels, matrix, statesOf, text } from './nesting-shapes.js'
import type { Rule } from './nesting-shapes.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

forEachCombo('nesting', (combo) => {
  let h: Harness
  beforeAll(async () => {
    h = await setup(combo)
  })
  afterAll(async () => h.stop())
  // The whole matrix on memory × inline; every shape to depth 2 on the other combinations.
  const full = combo.name.startsWith('memory × inline')
  const shapes = matrix().filter((m) => full || m.depth <= 2)

  for (const shape of shapes) {
    const s = shape.make(new Labels())
    const rules = new Set<Rule>()
    const want = expected(s, rules)
    it(`${shape.name}: ${text(s)} [${[...rules].join(', ')}]`, { timeout: 5_000 }, async () => {
      const handle = await h.app.send(build(s, { tag: h.tasks.nestTag }))
      // A wedged engine would keep runAll from settling: the test's timeout catches it.
      await h.clock.runAll({ limit: 1_000 })
      expect(await describeHandle(handle)).toEqual(want.handle)
      expect(await (handle as GroupResult).get()).toEqual(want.value)
      expectIdle(h)
    })
  }

  // A failure anywhere in a nested canvas ends every result in it (none stays PENDING), reaches
  // the canvas's result, and leaves the engine idle: a failing step stops its chain and Celery 5
  // stores the later steps FAILURE (canvas.py, `_chain.run` + `mark_as_failure` of the chain),
  // a failing header task fails its chord's body with ChordError (backends/base.py
  // `chord_error_from_stack`). Every leaf fails in turn (depth 3: the first and the last leaf).
  const failing = full ? shapes : shapes.filter((m) => m.depth === 1)
  for (const shape of failing) {
    const s = shape.make(new Labels())
    const all = labels(s)
    const chosen = shape.depth <= 2 && full ? all : [all[0]!, all[all.length - 1]!]
    it(`a failing leaf in ${text(s)} (${chosen.join(', ')}): every result ends, the canvas's result rejects, the engine is idle`, {
      timeout: 10_000,
    }, async () => {
      for (const failingLabel of chosen) {
        const handle = await h.app.send(build(s, { tag: h.tasks.nestTag, fail: h.tasks.nestFail, failing: failingLabel }))
        await h.clock.runAll({ limit: 1_000 })
        const states = await statesOf(handle)
        expect(
          states.filter((x) => x !== 'SUCCESS' && x !== 'FAILURE'),
          `${failingLabel}: ${states.join(' ')}`,
        ).toEqual([])
        expect(states, failingLabel).toContain('FAILURE')
        await expect((handle as GroupResult).get(), failingLabel).rejects.toThrow()
        expectIdle(h)
      }
    })
  }
})
