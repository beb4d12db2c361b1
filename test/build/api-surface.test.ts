/**
 * The public surface, committed: each subpath of package.json's `exports` has a report in `api/`
 * listing the names its source entry exports, with their kind. A change to what an entry exports
 * fails here until the report is updated, so it shows as a diff in review.
 *
 * Update the reports: UPDATE_API=1 npx vitest run test/build/api-surface.test.ts
 *
 * The entries are found from package.json (`exports` -> `dist/<name>.d.ts`) and tsup.config.ts
 * (`<name>` -> its source file); the compiler resolves every re-export from there, so no path
 * inside `src/` is written here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import tsupConfig from '../../tsup.config.js'

const root = new URL('../../', import.meta.url).pathname
const UPDATE_COMMAND = 'UPDATE_API=1 npx vitest run test/build/api-surface.test.ts'

interface Entry {
  /** The import specifier users write: `celeriac`, `celeriac/node`, ... */
  specifier: string
  /** The source file tsup builds it from, relative to the root. */
  source: string
  /** The committed report, relative to the root. */
  report: string
}

function entries(): Entry[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string
    exports: Record<string, string | { import?: { types?: string } }>
  }
  const config = Array.isArray(tsupConfig) ? tsupConfig[0] : tsupConfig
  const tsupEntries = (config as { entry: Record<string, string> }).entry
  const out: Entry[] = []
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue // ./package.json
    const types = target.import?.types
    if (types === undefined) throw new Error(`package.json exports['${subpath}'] has no import.types`)
    const name = basename(types).replace(/\.d\.ts$/, '')
    const source = tsupEntries[name]
    if (source === undefined) throw new Error(`package.json exports['${subpath}'] points at dist/${name}, which tsup.config.ts does not build`)
    const short = subpath === '.' ? pkg.name : subpath.slice(2)
    out.push({ specifier: subpath === '.' ? pkg.name : `${pkg.name}/${short}`, source, report: `api/${short}.api.txt` })
  }
  return out
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json')
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'))
  return ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath).options
}

function kindsOf(symbol: ts.Symbol): string[] {
  const f = symbol.flags
  const kinds: string[] = []
  if (f & ts.SymbolFlags.Class) kinds.push('class')
  if (f & ts.SymbolFlags.Function) kinds.push('function')
  if (f & ts.SymbolFlags.Variable) {
    const declaration = symbol.declarations?.find(ts.isVariableDeclaration)
    const list = declaration?.parent
    kinds.push(list !== undefined && ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const ? 'const' : 'let')
  }
  if (f & ts.SymbolFlags.Enum) kinds.push('enum')
  if (f & ts.SymbolFlags.Interface && !(f & ts.SymbolFlags.Class)) kinds.push('interface')
  if (f & ts.SymbolFlags.TypeAlias) kinds.push('type')
  if (f & (ts.SymbolFlags.ValueModule | ts.SymbolFlags.NamespaceModule)) kinds.push('namespace')
  return kinds.length > 0 ? kinds : ['unknown']
}

/**
 * One line per exported name: `<kind> <name>`, with `(type-only)` when a class, function or const
 * is exported as a type only (`export type { X }`, `export type *`): it is then missing from the
 * module at run time, which `runtimeNames` (the entry, imported) tells.
 */
function surfaceOf(program: ts.Program, source: string, runtimeNames: ReadonlySet<string>): string[] {
  const checker = program.getTypeChecker()
  const file = program.getSourceFile(join(root, source))
  if (file === undefined) throw new Error(`${source} is not in the program`)
  const moduleSymbol = checker.getSymbolAtLocation(file)
  if (moduleSymbol === undefined) throw new Error(`${source} has no exports`)
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const typeOnly = (symbol.flags & ts.SymbolFlags.Value) !== 0 && !runtimeNames.has(exported.name)
      return `${kindsOf(symbol).join(' & ')} ${exported.name}${typeOnly ? ' (type-only)' : ''}`
    })
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b), 'en') || a.localeCompare(b, 'en'))
}

function nameOf(line: string): string {
  return /(\S+)(?: \(type-only\))?$/.exec(line)?.[1] ?? line
}

function header(entry: Entry): string[] {
  return [
    `# ${entry.specifier} (${entry.source}): every exported name and its kind.`,
    `# Generated by test/build/api-surface.test.ts; after a deliberate change run: ${UPDATE_COMMAND}`,
  ]
}

/** A readable diff of two sorted reports: what an entry gained and lost. */
function describeDiff(entry: Entry, committed: string[], actual: string[]): string {
  const before = new Set(committed)
  const after = new Set(actual)
  const lines = [
    ...committed.filter((line) => !after.has(line)).map((line) => `  - ${line}`),
    ...actual.filter((line) => !before.has(line)).map((line) => `  + ${line}`),
  ].sort((a, b) => nameOf(a).localeCompare(nameOf(b), 'en') || a.localeCompare(b, 'en'))
  return [
    `The public surface of ${entry.specifier} (${entry.source}) differs from ${entry.report}:`,
    ...lines,
    `If the change is meant, update the report and commit it: ${UPDATE_COMMAND}`,
  ].join('\n')
}

const list = entries()
const program = ts.createProgram(
  list.map((entry) => join(root, entry.source)),
  compilerOptions(),
)

describe('public API surface', () => {
  it('every subpath of package.json exports has a source entry', () => {
    expect(list.map((entry) => entry.specifier)).toContain('celeriac')
    for (const entry of list) expect(existsSync(join(root, entry.source)), entry.source).toBe(true)
  })

  it('the entry files type-check (a broken re-export would hide a name)', () => {
    const errors = list.flatMap((entry) => {
      const file = program.getSourceFile(join(root, entry.source))
      return file === undefined ? [] : [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]
    })
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }
    expect(ts.formatDiagnostics(errors, host)).toBe('')
  })

  for (const entry of list) {
    it(`${entry.specifier} exports what ${entry.report} lists`, async () => {
      // An entry that exports nothing is run for its effect (celeriac/node-worker, a worker's script, which
      // refuses to run outside a worker): not imported here.
      const exportsNothing = surfaceOf(program, entry.source, new Set()).length === 0
      const runtime = new Set(exportsNothing ? [] : Object.keys((await import(join(root, entry.source))) as object))
      const actual = surfaceOf(program, entry.source, runtime)
      const declared = new Set(actual.map(nameOf))
      expect(
        [...runtime].filter((name) => !declared.has(name)),
        'exported at run time but not declared',
      ).toEqual([])
      const path = join(root, entry.report)
      if (process.env.UPDATE_API === '1') {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, `${[...header(entry), ...actual].join('\n')}\n`)
      }
      if (!existsSync(path)) throw new Error(`${entry.report} is missing; create it with: ${UPDATE_COMMAND}`)
      const committed = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
      if (committed.join('\n') !== actual.join('\n')) {
        const changed = new Set(committed).size !== new Set(actual).size || committed.some((line) => !actual.includes(line))
        throw new Error(changed ? describeDiff(entry, committed, actual) : `${entry.report} is out of order; regenerate it: ${UPDATE_COMMAND}`)
      }
    })
  }
})
