/**
 * Every TypeScript and JavaScript block of README.md and docs/, and every `@example` of the API
 * reference, type-checks as a reader's strict project would (one `tsc` over all of them,
 * `celeriac` mapped onto src/), and the blocks marked `run` run with tsx, exit 0 and print what
 * their `text output` block says (issue 19). How a block is marked: test/docs/snippets.ts; what
 * an example has in scope: test/docs/tsdoc.ts.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Diagnostic, documents, ENTRIES, parseDiagnostics, type Snippet, snippetsOf, writeProject } from './snippets.js'
import { tsdocSnippets } from './tsdoc.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const exec = promisify(execFile)
const docs = documents(root).flatMap((doc) => snippetsOf(root, doc))
const examples = tsdocSnippets(root)
const snippets = [...docs, ...examples]
const checked = snippets.filter((snippet) => snippet.fragment === undefined)
// Inside the repository (gitignored), so tsx and tsc find node_modules (@types/node, bullmq).
const base = join(root, '.snippets')
let dir = ''
let tsconfig = ''
let diagnostics: Diagnostic[] = []

beforeAll(async () => {
  mkdirSync(base, { recursive: true })
  dir = mkdtempSync(join(base, 'docs-'))
  tsconfig = writeProject(root, dir, snippets)
  try {
    await exec(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--pretty', 'false'], { cwd: dir, timeout: 170_000 })
  } catch (error) {
    const { stdout } = error as { stdout?: string }
    if (stdout === undefined || stdout === '') throw error
    diagnostics = parseDiagnostics(stdout)
  }
}, 180_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

function where(snippet: Snippet): string {
  return `${snippet.doc}:${String(snippet.block.line)} (${snippet.block.section})`
}

describe('the code blocks of README.md, docs/ and the API reference (@example)', () => {
  it('are found, and the package entries they import are the ones package.json exports', () => {
    expect(checked.length).toBeGreaterThan(10)
    const exported = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports)
      .filter((path) => path !== './package.json')
      .map((path) => (path === '.' ? 'celeriac' : `celeriac/${path.slice(2)}`))
    expect(Object.keys(ENTRIES).sort()).toEqual(exported.sort())
  })

  it('are few fragments, each saying why it is not checked', () => {
    const fragments = snippets.filter((snippet) => snippet.fragment !== undefined)
    for (const fragment of fragments) expect(fragment.fragment, where(fragment)).not.toBe('')
    expect(docs.filter((snippet) => snippet.fragment !== undefined).length).toBeLessThanOrEqual(4)
    expect(examples.filter((snippet) => snippet.fragment !== undefined).length).toBeLessThanOrEqual(2)
  })

  it("include the API reference's @example blocks, from every entry", () => {
    const sources = new Set(examples.map((snippet) => snippet.doc))
    expect(examples.length).toBeGreaterThan(150)
    for (const source of [
      'src/core/app/app.ts',
      'src/core/model/run-errors.ts',
      'src/storage/types.ts',
      'src/remote/remote-app.ts',
      'src/dashboard/mount.ts',
    ]) {
      expect(sources, source).toContain(source)
    }
  })

  it('type-check with nothing reported outside them (the sources they reach compile under a user’s options)', () => {
    const outside = diagnostics.filter((d) => !checked.some((snippet) => snippet.file === d.file))
    expect(outside.map((d) => `${d.file}(${String(d.line)}): ${d.text}`)).toEqual([])
  })

  describe.each(checked.map((snippet) => [where(snippet), snippet] as const))('%s', (_, snippet) => {
    it('type-checks', () => {
      const found = diagnostics.filter((d) => d.file === snippet.file)
      const lines = found.map((d) => `${snippet.doc}:${String(snippet.block.line + d.line)}: ${d.text}`)
      expect(lines, `the block at ${where(snippet)} does not type-check`).toEqual([])
    })
  })

  describe.each(checked.filter((snippet) => snippet.run).map((snippet) => [where(snippet), snippet] as const))('%s', (_, snippet) => {
    it('runs, exits 0 and prints its output block', async () => {
      const at = join(dir, snippet.file, '..')
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', relative(at, join(dir, snippet.file))], {
        cwd: at,
        env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
        timeout: 60_000,
      })
      if (snippet.output !== undefined) expect(stdout.trimEnd()).toBe(snippet.output.trimEnd())
    }, 90_000)
  })
})
