/**
 * The nesting matrix: canvas shapes made programmatically (every chain / group / chord in every
 * place of another, to depth 3), and a model of what Celery 5.2 returns for each: the value and
 * the shape of the handle (GroupResult nesting, header order, parents). Every leaf is
 * `nest.tag.s(label)`, whose result shows the values that reached it (tasks-nesting.ts), so a
 * value mismatch shows where the args went wrong.
 *
 * The model follows Celery's canvas.py (v5.2.7) and names the rule it applied for each shape;
 * `RULES` cites the source or test of each.
 */
import { expect } from 'vitest'
import { AsyncResult, GroupResult, chain, chord, group } from '../../src/index.js'
import type { AnySignature } from '../../src/index.js'
import type { Harness } from './harness.js'
import { tagOf } from './tasks-nesting.js'

export type Shape =
  | { readonly k: 'task'; readonly label: string }
  | { readonly k: 'chain'; readonly steps: readonly Shape[] }
  | { readonly k: 'group'; readonly members: readonly Shape[] }
  | { readonly k: 'chord'; readonly header: readonly Shape[]; readonly body: Shape }

/** A handle as the matrix compares it: kind, members, parent, and each result's value. */
export type HandleShape = { r: unknown; parent: HandleShape | null } | { g: HandleShape[]; parent: HandleShape | null }

/** Celery's rules the model applies, with where Celery says so (celery/celery v5.2.7). */
const RULES = {
  chain: 'a chain prepends each result to the next step (t/integration/test_canvas.py test_simple_chain)',
  splice: 'a chain inside a chain is spliced into it (canvas.py _chain.prepare_steps: "splice (unroll) the chain")',
  upgrade:
    'a group followed by a step in a chain becomes a chord (canvas.py _chain.prepare_steps "upgrade group(...) | s to chord"; test_nested_chain_group_mid)',
  groupFlat: 'a group inside a group is flattened into it (canvas.py group._prepared; test_nested_group, test_nested_group_group)',
  headerFlat: 'a group in a chord header is flattened into the header (test_nested_chord_group, test_nested_group_chord_counting_mixed)',
  headerChord: "a chord in a chord header counts as its body's result (canvas.py _chord._descend; test_nested_chord)",
  headerChain: "a chain in a chord header counts as its last step's result (test_chord_in_chords_with_chains, test_chain_chord_chain_chord)",
  headerChainGroup: 'a chain ending in a group in a chord header is one entry, the list (test_nested_chord_group_chain_group_tail)',
  groupOfChords: "a chord in a group is one member, its body's result (test_parallel_chords, test_nested_group_chord_counting_simple)",
  groupOfChains: "a chain in a group is one member, its last step's result (test_chain_inside_group_receives_arguments)",
  chordInChain: 'a chord in a chain: every header task gets the previous result (test_chain_of_chords_with_two_tasks, test_chain_chord_chain_chord)',
  groupInChain: 'a group in a chain: every member gets the previous result (test_chain_inside_group_receives_arguments)',
  chordBody: 'a chord body gets the header results in header order (test_nested_chord; canvas.py _chord.run)',
  emptyHeader: 'a chord with an empty header runs its body with [] (canvas.py _chord.run; test_empty_header_chord)',
  emptyGroup: 'an empty group is ready at once with [] (test_empty_group_result)',
} as const

export type Rule = keyof typeof RULES

export interface Expected {
  readonly value: unknown
  readonly handle: HandleShape
}

// ---- shapes ----------------------------------------------------------------------------------

/** Makes shapes with fresh leaf labels: a, b, ..., z, a1, ... */
export class Labels {
  #next = 0
  t(): Shape {
    const n = this.#next++
    return { k: 'task', label: `${String.fromCharCode(97 + (n % 26))}${n >= 26 ? String(Math.floor(n / 26)) : ''}` }
  }
}

type Base = (l: Labels) => Shape
type Slot = (l: Labels, inner: (l: Labels) => Shape) => Shape

/** The three kinds at depth 1. */
const BASES: Record<string, Base> = {
  chain: (l) => ({ k: 'chain', steps: [l.t(), l.t()] }),
  group: (l) => ({ k: 'group', members: [l.t(), l.t()] }),
  chord: (l) => ({ k: 'chord', header: [l.t(), l.t()], body: l.t() }),
}

/** Every place a node can sit in another. */
const SLOTS: Record<string, Slot> = {
  'chain first': (l, x) => ({ k: 'chain', steps: [x(l), l.t()] }),
  'chain middle': (l, x) => {
    const first = l.t()
    return { k: 'chain', steps: [first, x(l), l.t()] }
  },
  'chain last': (l, x) => {
    const first = l.t()
    return { k: 'chain', steps: [first, x(l)] }
  },
  'group member': (l, x) => ({ k: 'group', members: [x(l), l.t()] }),
  'chord header': (l, x) => ({ k: 'chord', header: [x(l), l.t()], body: l.t() }),
  'chord body': (l, x) => {
    const header = [l.t(), l.t()]
    return { k: 'chord', header, body: x(l) }
  },
}

/** A generated shape: its maker and its depth. */
export interface MatrixShape {
  readonly name: string
  readonly depth: number
  readonly make: (l: Labels) => Shape
}

/** Every chain / group / chord at depth 1, and in every slot of another at depths 2 and 3. */
export function matrix(): MatrixShape[] {
  const out: MatrixShape[] = []
  const d1 = Object.entries(BASES).map(([name, make]) => ({ name, depth: 1, make }))
  out.push(...d1)
  const d2: MatrixShape[] = []
  for (const [slot, place] of Object.entries(SLOTS)) {
    for (const inner of d1) d2.push({ name: `${inner.name} as ${slot}`, depth: 2, make: (l) => place(l, inner.make) })
  }
  out.push(...d2)
  for (const [slot, place] of Object.entries(SLOTS)) {
    for (const inner of d2) out.push({ name: `(${inner.name}) as ${slot}`, depth: 3, make: (l) => place(l, inner.make) })
  }
  return out
}

/** A shape as text: `chain(a, group(b, c))`, `chord([a, b], c)`. */
export function text(s: Shape): string {
  switch (s.k) {
    case 'task':
      return s.label
    case 'chain':
      return `chain(${s.steps.map(text).join(', ')})`
    case 'group':
      return `group(${s.members.map(text).join(', ')})`
    case 'chord':
      return `chord([${s.header.map(text).join(', ')}], ${text(s.body)})`
  }
}

/** What builds leaves: `nest.tag`, and `nest.fail` for the leaf labelled `failing`. */
export interface Leaves {
  readonly tag: { s(...args: unknown[]): AnySignature }
  readonly fail?: { s(...args: unknown[]): AnySignature }
  readonly failing?: string
}

/** The signature of a shape, every leaf `tag.s(label)` (the failing one `fail.s(label)`). */
export function build(s: Shape, leaves: Leaves): AnySignature {
  switch (s.k) {
    case 'task':
      return (s.label === leaves.failing ? leaves.fail! : leaves.tag).s(s.label)
    case 'chain':
      return chain(...(s.steps.map((x) => build(x, leaves)) as [AnySignature]))
    case 'group':
      return group(s.members.map((x) => build(x, leaves)))
    case 'chord':
      return chord(
        s.header.map((x) => build(x, leaves)),
        build(s.body, leaves),
      )
  }
}

/** The labels of a shape's leaves, in order. */
export function labels(s: Shape): string[] {
  switch (s.k) {
    case 'task':
      return [s.label]
    case 'chain':
      return s.steps.flatMap(labels)
    case 'group':
      return s.members.flatMap(labels)
    case 'chord':
      return [...s.header.flatMap(labels), ...labels(s.body)]
  }
}

// ---- the model -------------------------------------------------------------------------------

/**
 * What Celery returns for `s.delay()`, and the rules that decided it (added to `rules`). Two
 * special cases of Celery's are left out, where celeriac differs on purpose (NOTES.md, Canvas):
 * a one-member group in a chain stays a group, and a group whose one member's result is a
 * GroupResult is not replaced by it (nesting.test.ts tests both).
 */
export function expected(s: Shape, rules: Set<Rule>): Expected {
  return model(s, [], null, rules)
}

function model(s: Shape, prepend: unknown[], parent: HandleShape | null, rules: Set<Rule>): Expected {
  switch (s.k) {
    case 'task': {
      const value = tagOf([...prepend, s.label])
      return { value, handle: { r: value, parent } }
    }
    case 'chain': {
      rules.add('chain')
      const steps = chainSteps(s.steps, rules)
      let last: Expected | undefined
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!
        if (step.k === 'group' && i < steps.length - 1) rules.add('upgrade')
        if (i > 0 && step.k === 'chord') rules.add('chordInChain')
        if (i > 0 && step.k === 'group') rules.add('groupInChain')
        last = model(step, i === 0 ? prepend : [last!.value], i === 0 ? parent : last!.handle, rules)
      }
      return last!
    }
    case 'group': {
      const members = flatGroup(s.members, rules, 'groupFlat')
      if (members.length === 0) rules.add('emptyGroup')
      for (const m of members) {
        if (m.k === 'chord') rules.add('groupOfChords')
        if (m.k === 'chain') rules.add('groupOfChains')
      }
      const each = members.map((m) => model(m, prepend, null, rules))
      return { value: each.map((e) => e.value), handle: { g: each.map((e) => e.handle), parent } }
    }
    case 'chord': {
      const header = flatGroup(s.header, rules, 'headerFlat')
      if (header.length === 0) rules.add('emptyHeader')
      for (const m of header) {
        if (m.k === 'chord') rules.add('headerChord')
        if (m.k === 'chain') rules.add(endsInGroup(m) ? 'headerChainGroup' : 'headerChain')
      }
      rules.add('chordBody')
      const each = header.map((m) => model(m, prepend, null, rules))
      const headerHandle: HandleShape = { g: each.map((e) => e.handle), parent }
      return model(s.body, [each.map((e) => e.value)], headerHandle, rules)
    }
  }
}

/** A chain's steps as Celery runs them: nested chains spliced. */
function chainSteps(steps: readonly Shape[], rules: Set<Rule>): Shape[] {
  const out: Shape[] = []
  for (const step of steps) {
    if (step.k === 'chain') {
      rules.add('splice')
      out.push(...chainSteps(step.steps, rules))
    } else out.push(step)
  }
  return out
}

/** Members with nested groups flattened in (recursively), in order. */
function flatGroup(members: readonly Shape[], rules: Set<Rule>, rule: Rule): Shape[] {
  const out: Shape[] = []
  for (const m of members) {
    if (m.k === 'group') {
      rules.add(rule)
      out.push(...flatGroup(m.members, rules, rule))
    } else out.push(m)
  }
  return out
}

function endsInGroup(s: Shape): boolean {
  if (s.k === 'group') return true
  if (s.k === 'chain') return endsInGroup(s.steps[s.steps.length - 1]!)
  return false
}

// ---- the actual handle ------------------------------------------------------------------------

/** The handle `delay()` gave, described as {@link HandleShape} (each result's value read). */
export async function describeHandle(handle: unknown): Promise<HandleShape> {
  if (handle instanceof GroupResult) {
    const g: HandleShape[] = []
    for (const r of handle.results as readonly unknown[]) g.push(await describeHandle(r))
    return { g, parent: handle.parent === undefined ? null : await describeHandle(handle.parent) }
  }
  if (handle instanceof AsyncResult) {
    // Read without waiting: a result that is not ready after runAll() shows as its state.
    const state = await handle.state()
    const r = state === 'SUCCESS' ? await handle.get() : state === 'FAILURE' ? `FAILURE ${String(await handle.info())}` : state
    return { r, parent: handle.parent === undefined ? null : await describeHandle(handle.parent) }
  }
  throw new Error(`not a handle: ${String(handle)}`)
}

/** The state of every result in a handle's tree (members, parents), in a fixed order. */
export async function statesOf(handle: unknown, out: string[] = []): Promise<string[]> {
  if (handle instanceof GroupResult) {
    for (const r of handle.results as readonly unknown[]) await statesOf(r, out)
    if (handle.parent !== undefined) await statesOf(handle.parent, out)
  } else if (handle instanceof AsyncResult) {
    out.push(await handle.state())
    if (handle.parent !== undefined) await statesOf(handle.parent, out)
  }
  return out
}

/** The engine is idle: nothing runs, waits or is held, and `inspect.active()` is empty. */
export function expectIdle(h: Harness): void {
  expect(h.app.inspect.active()).toEqual([])
  expect(h.app.inspect.stats()).toMatchObject({ running: 0, ready: 0, scheduled: 0, parked: 0 })
}
