/**
 * How a run's CELERIAC_COMBOS splits the conformance matrix between the project that shares a
 * module graph and the isolated one on Redis (test/isolation.ts), and what selectCombos takes.
 */
import { describe, expect, it } from 'vitest'
import { selectCombos } from '../conformance/harness.js'
import type { Combo } from '../conformance/harness.js'
import { conformanceCombos } from '../isolation.js'

const named = (...names: string[]): Combo[] => names.map((name) => ({ name, asyncContext: true, storage: () => ({}) as never, executor: () => ({}) as never }))
const all = named('memory × inline', 'memory × threads', 'file × inline', 'redis × inline')
const names = (filter: string | undefined): string[] => selectCombos(all, filter).map((c) => c.name)

describe('selectCombos', () => {
  it('takes every combination whose name holds a word, and leaves out those holding a !word', () => {
    expect(names(undefined)).toEqual(all.map((c) => c.name))
    expect(names('inline')).toEqual(['memory × inline', 'file × inline', 'redis × inline'])
    expect(names('!redis')).toEqual(['memory × inline', 'memory × threads', 'file × inline'])
    expect(names('inline,!redis')).toEqual(['memory × inline', 'file × inline'])
  })
})

describe('conformanceCombos', () => {
  it('gives the shared project everything chosen but Redis, and the Redis project Redis when it was chosen', () => {
    expect(conformanceCombos(undefined)).toEqual({ shared: '!redis', redis: 'redis' })
    expect(conformanceCombos('inline')).toEqual({ shared: 'inline,!redis', redis: 'redis' })
    expect(conformanceCombos('memory × inline')).toEqual({ shared: 'memory × inline,!redis', redis: undefined })
    expect(conformanceCombos('threads,!file')).toEqual({ shared: 'threads,!file,!redis', redis: undefined })
    expect(conformanceCombos('!redis')).toEqual({ shared: '!redis,!redis', redis: undefined })
  })
})
