/**
 * The TypeScript and JavaScript blocks of README.md and docs/, as files of one project a single
 * `tsc` checks, with `celeriac` and its subpaths mapped onto src/ (tsconfig `paths`, which tsx
 * follows too), so a block is checked and run against the code as it is, with no build.
 *
 * The info string after the language says what to do with a block:
 * - nothing: type-checked;
 * - `run`: type-checked, then run with tsx (exit 0); a ```` ```text output ```` block right after
 *   it is the standard output it must print;
 * - `file=NAME.ts`: the block is that file of its `##` section's folder, so blocks of one section
 *   import each other (`./tasks.js`) as a reader's files would;
 * - `fragment: why`: not checked, for the few blocks that cannot be a module (the reason is
 *   required).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { type CodeBlock, codeBlocks } from './markdown.js'

/** Languages whose blocks are checked. */
const CHECKED = new Map([
  ['ts', 'ts'],
  ['typescript', 'ts'],
  ['js', 'js'],
  ['javascript', 'js'],
])

/**
 * The package's entries (package.json `exports`) as the sources they are built from
 * (tsup.config.ts); `celeriac` is the Node build (`index-node`), as Node resolves it.
 */
export const ENTRIES: Readonly<Record<string, string>> = {
  celeriac: 'src/index-node.ts',
  'celeriac/node': 'src/node.ts',
  'celeriac/browser': 'src/browser.ts',
  'celeriac/node-worker': 'src/adapters/node/worker.ts',
  'celeriac/testing': 'src/testing.ts',
  'celeriac/bullmq': 'src/bullmq/index.ts',
  'celeriac/celery': 'src/celery/index.ts',
  'celeriac/dashboard': 'src/dashboard/index.ts',
  'celeriac/remote': 'src/remote/index.ts',
}

export interface Snippet {
  /** The Markdown file, relative to the repository (`README.md`, `docs/testing.md`). */
  readonly doc: string
  readonly block: CodeBlock
  /** Where the block is written, relative to the project's folder. */
  readonly file: string
  readonly run: boolean
  /** Why the block is not checked; undefined for a checked block. */
  readonly fragment: string | undefined
  /** The standard output a `run` block must print, from the `text output` block after it. */
  readonly output: string | undefined
}

/** README.md and every Markdown file under docs/ (but TypeDoc's docs/api/), relative to `root`. */
export function documents(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    // docs/api/ is TypeDoc's output (gitignored), with copies of the Markdown files it links to.
    .filter((path) => path.endsWith('.md') && !path.startsWith('api/'))
    .map((path) => join('docs', path))
    .sort()
  return ['README.md', ...docs]
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'top'
  )
}

/** The checked blocks of `doc`; throws on an info string it does not understand, naming the line. */
export function snippetsOf(root: string, doc: string): Snippet[] {
  const blocks = codeBlocks(join(root, doc))
  const snippets: Snippet[] = []
  blocks.forEach((block, index) => {
    const ext = CHECKED.get(block.lang)
    if (ext === undefined) return
    const where = `${doc}:${String(block.line)}`
    let run = false
    let name: string | undefined
    let fragment: string | undefined
    if (block.info.startsWith('fragment')) {
      fragment = block.info.slice('fragment'.length).replace(/^:/, '').trim()
      if (fragment === '') throw new Error(`${where}: a fragment says why it cannot be checked (\`\`\`ts fragment: <why>)`)
    } else {
      for (const word of block.info.split(/\s+/).filter(Boolean)) {
        if (word === 'run') run = true
        else if (word.startsWith('file=')) name = word.slice('file='.length)
        else throw new Error(`${where}: unknown word '${word}' in the info string (run, file=NAME or fragment: why)`)
      }
    }
    if (name !== undefined && !new RegExp(`^[\\w.-]+\\.${ext}$`).test(name)) throw new Error(`${where}: file=${name} is not a .${ext} file name`)
    const next = blocks[index + 1]
    const output = next?.lang === 'text' && next.info === 'output' ? next.code : undefined
    if (output !== undefined && !run) throw new Error(`${where}: an output block follows a block that does not run`)
    const folder = join(slug(doc.replace(/\.md$/, '')), slug(block.section))
    snippets.push({ doc, block, file: join(folder, name ?? `line-${String(block.line)}.${ext}`), run, fragment, output })
  })
  return snippets
}

/**
 * Writes the checked snippets under `dir` with a tsconfig.json whose `paths` map the package's
 * entries onto `root`'s sources; returns that tsconfig's path. Two blocks may not claim one file.
 */
export function writeProject(root: string, dir: string, snippets: readonly Snippet[]): string {
  const seen = new Map<string, Snippet>()
  for (const snippet of snippets) {
    if (snippet.fragment !== undefined) continue
    const other = seen.get(snippet.file)
    if (other !== undefined) throw new Error(`${snippet.doc}:${String(snippet.block.line)} and line ${String(other.block.line)} are both ${snippet.file}`)
    seen.set(snippet.file, snippet)
    mkdirSync(join(dir, snippet.file, '..'), { recursive: true })
    writeFileSync(join(dir, snippet.file), snippet.block.code)
  }
  const paths = Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [name, [relative(dir, join(root, source))]]))
  const tsconfig = join(dir, 'tsconfig.json')
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        compilerOptions: {
          // A user's strict project, in Node with the DOM's types too (page, worker and renderer blocks).
          target: 'ES2022',
          lib: ['ES2023', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          moduleDetection: 'force',
          strict: true,
          allowJs: true,
          checkJs: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
          paths,
        },
        include: ['**/*.ts', '**/*.js'],
      },
      null,
      2,
    ),
  )
  return tsconfig
}

export interface Diagnostic {
  /** The snippet's file relative to the project, or a path outside it (a source under src/). */
  readonly file: string
  readonly line: number
  readonly text: string
}

/** tsc's `--pretty false` output as diagnostics (continuation lines join the one above). */
export function parseDiagnostics(out: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = []
  for (const line of out.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\): (error .*)$/.exec(line)
    if (match) diagnostics.push({ file: match[1]!, line: Number(match[2]), text: match[3]! })
    // An error of the program itself (two files differing only in case, a bad option) names no
    // file; tsc then checks nothing else, so it must fail the run, not be read as a continuation.
    else if (/^error TS\d+:/.test(line)) diagnostics.push({ file: '', line: 0, text: line })
    else if (line.trim() !== '' && diagnostics.length > 0) {
      const last = diagnostics.pop()!
      diagnostics.push({ ...last, text: `${last.text}\n${line}` })
    }
  }
  return diagnostics
}
