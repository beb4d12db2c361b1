import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cruise } from 'dependency-cruiser'
import ts from 'typescript'
import type { IConfiguration, IFlattenedRuleSet, IViolation } from 'dependency-cruiser'
import { describe, expect, it } from 'vitest'

/**
 * The layers of src/core (`.dependency-cruiser.cjs`): no import cycle, no import from a later
 * layer, no Node built-in, no DOM, no package the core does not depend on. The same rules run over
 * a fixture tree that breaks each once, so a rule that stopped matching would show here.
 *
 * The DOM: the tsconfig's lib has none, so a DOM global fails the type check; what could bring it
 * back is a `/// <reference lib="dom" />`, which dependency-cruiser does not read: TypeScript's
 * own pre-processor reads them here.
 */
const root = fileURLToPath(new URL('../../', import.meta.url))
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

/** Files of src/core with a `/// <reference lib>` to the DOM or a worker scope. */
function domLibReferences(baseDir: string): string[] {
  const core = join(baseDir, 'src/core')
  return files(core).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .libReferenceDirectives.filter((ref) => /^(dom|webworker)/i.test(ref.fileName))
      .map((ref) => `core-no-dom-lib: ${file.slice(baseDir.length)} -> lib ${ref.fileName}`),
  )
}

async function violations(baseDir: string): Promise<IViolation[]> {
  const result = await cruise(
    ['src'],
    { ...config.options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden } as IFlattenedRuleSet, tsConfig: undefined },
    { extensions: ['.ts', '.js'] },
  )
  if (typeof result.output === 'string') throw new Error('dependency-cruiser gave text, not a result')
  return result.output.summary.violations
}

function describeAll(found: readonly IViolation[]): string[] {
  return found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle === undefined ? '' : ` (cycle ${v.cycle.map((c) => c.name).join(' -> ')})`}`)
}

describe('layers of src/core', () => {
  it('src has no cycle, no upward import, no Node, DOM or foreign package in the core', async () => {
    expect(describeAll(await violations(root))).toEqual([])
    expect(domLibReferences(root)).toEqual([])
    const lib = (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { lib: string[] } })
      .compilerOptions.lib
    expect(lib.filter((name) => /^(dom|webworker)/i.test(name))).toEqual([])
  })

  it('the check fails on each kind of violation (fixture tree)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/layers/', import.meta.url))
    const found = await violations(fixture)
    const rules = new Set(found.map((v) => v.rule.name))
    expect([...rules].sort()).toEqual([
      'core-in-layers',
      'core-memory-storage',
      'core-no-node',
      'core-packages',
      'core-unresolvable',
      'layer-model',
      'no-circular',
    ])
    expect(describeAll(found)).toContain('layer-model: src/core/model/upward.ts -> src/core/engine/thing.ts')
    expect(domLibReferences(fixture)).toEqual(['core-no-dom-lib: src/core/engine/uses-dom.ts -> lib dom'])
  }, 60_000)
})
