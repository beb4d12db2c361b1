/**
 * The `@example` blocks of the API reference as snippets of the docs project (snippets.ts), so
 * the one `tsc` that checks README.md and docs/ checks them too (issue 19, "docs that run").
 *
 * Which examples: those in the TSDoc of every declaration the package's entries export (ENTRIES),
 * and of their members, found with TypeScript's own reading of the exports (a re-export is
 * followed to its declaration, each declaration is read once).
 *
 * What a block is: an `@example` without a fence is one block of TypeScript, as TypeDoc shows it;
 * one with fences gives its ```` ```ts ```` blocks, whose info string may be `fragment: why`, as in
 * the Markdown documents. A TSDoc example is short, so it is checked with what its reader has
 * around it: every name a public entry exports is in scope (imported from the first entry of
 * ENTRIES that exports it, unless the example declares or imports that name itself), and so are
 * the few values of GIVENS (`app`, ...), declared with their types.
 */
import { relative } from 'node:path'
import ts from 'typescript'
import type { CodeBlock } from './markdown.js'
import { ENTRIES, type Snippet } from './snippets.js'

/**
 * The tasks module the examples share: `./tasks.js` beside them (a worker's `import('./tasks.js')`),
 * and `../main/tasks.js` (an Electron renderer's type import). An example that names one of its
 * tasks without importing it gets it imported.
 */
const TASKS = `import { sharedTask } from 'celeriac'
export const add = sharedTask('math.add', (a: number, b: number) => a + b)
export const sum = sharedTask('math.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))
export const resize = sharedTask('images.resize', (path: string, width = 1_024) => \`\${path}@\${String(width)}\`)
export const report = sharedTask('reports.nightly', () => 'done')
export const ping = sharedTask('health.ping', () => true)
export const digest = sharedTask('mail.digest', () => 0)
export const cleanup = sharedTask('files.cleanup', () => 0)
export const notify = sharedTask('mail.notify', (what: string) => what)
export const signup = sharedTask('users.signup', (email: string) => email)
export const sendEmail = sharedTask('mail.send', (to: string) => to)
`

const TASK_NAMES = new Set([...TASKS.matchAll(/^export const (\w+)/gm)].map((m) => m[1]!))

/**
 * Values an example may use without making them: what a reader of the API reference has at hand
 * where the example applies. Each is declared (not made) in the block's first line.
 */
const GIVENS: Readonly<Record<string, string>> = {
  /** The app, started. */
  app: 'Celeriac',
  /** A handle of a task sent. */
  r: 'AsyncResult<number>',
  /** A task id. */
  id: 'string',
  /** An app reached through a port (`celeriac/remote`). */
  remote: 'RemoteApp',
  /** Where a dashboard reads. */
  source: 'DashboardSource',
  /** The control endpoint's bearer token. */
  token: 'string',
  /** A storage directory. */
  dir: 'string',
  /** One end of a MessageChannel, the other end's app served on it. */
  port: 'MessagePort',
  /** A recorder of the app's tasks (`celeriac/testing`). */
  sent: 'Recorder',
  /** The control endpoint `serve()` returned. */
  endpoint: 'ServeHandle',
  /** A function a task runs. */
  fetchPage: '(url: string) => Promise<string>',
  /** A storage adapter, open. */
  storage: 'Storage',
  /** A transport (the broker of `new Celeriac({ transport })`), open. */
  transport: 'Transport',
}

interface Example {
  readonly source: string
  /** The declaration's name (`TaskRevokedError`, `Celeriac.task`). */
  readonly symbol: string
  readonly lang: string
  readonly info: string
  readonly code: string
  /** 1-based line, in `source`, of the block's first line of code. */
  readonly line: number
}

/** The lines of an `@example` tag's text, with the comment's ` * ` margin taken off, and the line of each. */
function tagLines(sf: ts.SourceFile, tag: ts.JSDocTag): { text: string; line: number }[] {
  const start = sf.getLineAndCharacterOfPosition(tag.getStart(sf)).line + 1
  const raw = sf.text.slice(tag.getStart(sf), tag.end).split('\n')
  const lines = raw.map((text, i) => ({ text: i === 0 ? text.replace(/^@example\b\s*/, '') : text.replace(/^\s*\*( |$)/, ''), line: start + i }))
  // The tag runs to the next tag or the comment's end: drop the blank lines and `*/` after the code.
  while (lines.length > 0 && /^\s*(\*?\/?)?\s*$/.test(lines.at(-1)!.text)) lines.pop()
  return lines
}

/** The blocks of one `@example` tag (see the file's comment). */
function blocksOf(sf: ts.SourceFile, tag: ts.JSDocTag, source: string, symbol: string): Example[] {
  const lines = tagLines(sf, tag)
  if (!lines.some(({ text }) => text.startsWith('```'))) {
    const code = lines.filter(({ text }, i) => i > 0 || text !== '')
    if (code.length === 0) return []
    return [{ source, symbol, lang: 'ts', info: '', code: `${code.map(({ text }) => text).join('\n')}\n`, line: code[0]!.line }]
  }
  const blocks: Example[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)(.*)$/.exec(lines[i]!.text)
    if (!fence) continue
    const body: { text: string; line: number }[] = []
    for (i++; i < lines.length && !lines[i]!.text.startsWith('```'); i++) body.push(lines[i]!)
    const line = body[0]?.line ?? lines[i - 1]!.line
    blocks.push({ source, symbol, lang: fence[1] ?? '', info: (fence[2] ?? '').trim(), code: `${body.map(({ text }) => text).join('\n')}\n`, line })
  }
  return blocks
}

/** The name a member or declaration is known by in the reference. */
function nameOf(node: ts.Node): string | undefined {
  const name = (node as { name?: ts.Node }).name
  return name !== undefined && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name)) ? name.text : undefined
}

interface PublicSurface {
  readonly examples: Example[]
  /** Each public name and the entry (`celeriac`, `celeriac/node`, ...) it is imported from. */
  readonly names: Map<string, string>
}

/** The public names of the entries, and the examples of what they export. */
function publicSurface(root: string): PublicSurface {
  const files = Object.values(ENTRIES).map((source) => `${root}/${source}`)
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  const names = new Map<string, string>()
  const examples: Example[] = []
  const seenTags = new Set<ts.JSDocTag>()
  const seenDeclarations = new Set<ts.Node>()

  const collect = (declaration: ts.Node, symbol: string): void => {
    if (seenDeclarations.has(declaration)) return
    seenDeclarations.add(declaration)
    const sf = declaration.getSourceFile()
    const visit = (node: ts.Node, owner: string): void => {
      for (const tag of ts.getJSDocTags(node)) {
        if (tag.tagName.text !== 'example' || seenTags.has(tag)) continue
        seenTags.add(tag)
        examples.push(...blocksOf(sf, tag, relative(root, sf.fileName), owner))
      }
      ts.forEachChild(node, (child) => {
        // Members are named after their owner (`Celeriac.task`); a function's body is not documentation.
        if (ts.isBlock(child) || ts.isJSDoc(child)) return
        const member = ts.isClassElement(child) || ts.isTypeElement(child) ? nameOf(child) : undefined
        visit(child, member === undefined ? owner : `${symbol}.${member}`)
      })
    }
    visit(declaration, symbol)
  }

  const exportsOf = (moduleSymbol: ts.Symbol, entry: string, prefix: string): void => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const name = exported.getName()
      if (prefix === '' && !names.has(name)) names.set(name, entry)
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      for (const declaration of symbol.declarations ?? []) {
        // `export * as states from './states.js'`: the export's own comment, and the namespace's exports.
        if (ts.isSourceFile(declaration)) {
          for (const at of exported.declarations ?? []) if (ts.isExportDeclaration(at.parent)) collect(at.parent, `${prefix}${name}`)
          if (prefix === '') exportsOf(symbol, entry, `${name}.`)
        } else collect(declaration, `${prefix}${name}`)
      }
    }
  }

  for (const [entry, source] of Object.entries(ENTRIES)) {
    const sf = program.getSourceFile(`${root}/${source}`)
    const moduleSymbol = sf === undefined ? undefined : checker.getSymbolAtLocation(sf)
    if (moduleSymbol === undefined) throw new Error(`${source} (${entry}) is not a module TypeScript reads`)
    exportsOf(moduleSymbol, entry, '')
  }
  return { examples, names }
}

/** Names the block makes itself (imports and declarations), which the header must leave to it. */
function ownNames(code: string): Set<string> {
  const own = new Set<string>()
  for (const match of code.matchAll(/\b(?:const|let|var|function|class|type|interface|enum)\s+([A-Za-z_$][\w$]*)/g)) own.add(match[1]!)
  for (const match of code.matchAll(/^\s*import\s+(?:type\s+)?([\s\S]*?)\s+from\s/gm)) {
    for (const word of match[1]!.matchAll(/([A-Za-z_$][\w$]*)\s*(?:,|}|$)/g)) own.add(word[1]!)
  }
  return own
}

/**
 * The `@example` blocks of the public entries as snippets: each checked block gets one first line
 * that imports the public names it uses and declares the GIVENS it uses.
 */
export function tsdocSnippets(root: string): Snippet[] {
  const { examples, names } = publicSurface(root)
  const snippets = examples.flatMap((example): Snippet[] => {
    if (example.lang !== 'ts' && example.lang !== 'typescript') return []
    const where = `${example.source}:${String(example.line)}`
    let fragment: string | undefined
    if (example.info.startsWith('fragment')) {
      fragment = example.info.slice('fragment'.length).replace(/^:/, '').trim()
      if (fragment === '') throw new Error(`${where}: a fragment says why it cannot be checked (\`\`\`ts fragment: <why>)`)
    } else if (example.info !== '') throw new Error(`${where}: an @example block's info string is nothing or 'fragment: why', not '${example.info}'`)
    const own = ownNames(example.code)
    const used = new Set([...example.code.matchAll(/(?<![\w$.'"`])[A-Za-z_$][\w$]*/g)].map((m) => m[0]).filter((word) => !own.has(word)))
    const imports = new Map<string, string[]>()
    const declares: string[] = []
    for (const word of used) {
      const given = Object.hasOwn(GIVENS, word) ? GIVENS[word] : undefined
      if (given === undefined) continue
      declares.push(`declare const ${word}: ${given};`)
      for (const name of given.match(/[A-Za-z_$][\w$]*/g) ?? []) if (!own.has(name)) used.add(name)
    }
    for (const word of used) {
      const entry = TASK_NAMES.has(word) ? './tasks.js' : names.get(word)
      if (entry !== undefined) imports.set(entry, [...(imports.get(entry) ?? []), word])
    }
    const header = [...[...imports].map(([entry, words]) => `import { ${words.sort().join(', ')} } from '${entry}';`), ...declares].join(' ')
    // Numbered, as names may differ only in case (`Chain`, `chain`), which tsc refuses in one program.
    const base = `${String(examples.indexOf(example)).padStart(3, '0')}-${example.symbol.replace(/[^\w]+/g, '-')}`
    const block: CodeBlock = { section: example.symbol, lang: 'ts', info: example.info, code: `${header}\n${example.code}`, line: example.line - 2 }
    return [{ doc: example.source, block, file: `tsdoc/${base}.ts`, run: false, fragment, output: undefined }]
  })
  const tasks = (file: string, code: string): Snippet => ({
    doc: 'test/docs/tsdoc.ts',
    block: { section: 'TASKS', lang: 'ts', info: '', code, line: 0 },
    file,
    run: false,
    fragment: undefined,
    output: undefined,
  })
  return [...snippets, tasks('tsdoc/tasks.ts', TASKS), tasks('main/tasks.ts', "export * from '../tsdoc/tasks.js'\n")]
}
