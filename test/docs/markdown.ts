/**
 * The fenced code blocks of a Markdown file, each with the `##` section it sits in, so a test can
 * run the snippets a reader pastes, under the heading the reader sees them.
 */
import { readFileSync } from 'node:fs'

export interface CodeBlock {
  /** The `##` heading above the block, without its hashes. */
  readonly section: string
  /** The info string's first word: `ts`, `sh`, ... */
  readonly lang: string
  /** The rest of the info string after the language (`run`, `file=main.ts`, `fragment: why`), trimmed. */
  readonly info: string
  readonly code: string
  /** 1-based line of the opening fence. */
  readonly line: number
}

/** Every fenced block of `path`, in order. */
export function codeBlocks(path: string | URL): CodeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.+)$/.exec(lines[i]!)
    if (heading) section = heading[1]!.trim()
    const fence = /^```(\w*)(.*)$/.exec(lines[i]!)
    if (!fence) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!)
    blocks.push({ section, lang: fence[1] ?? '', info: (fence[2] ?? '').trim(), code: `${body.join('\n')}\n`, line: start + 1 })
  }
  return blocks
}

/** The one block of `lang` under `section`; throws naming what is missing, so a renamed heading fails loudly. */
export function blockIn(blocks: readonly CodeBlock[], section: string, lang: string, index = 0): CodeBlock {
  const found = blocks.filter((block) => block.section.startsWith(section) && block.lang === lang)[index]
  if (found === undefined) throw new Error(`README has no ${lang} block #${String(index)} under a '## ${section}' heading`)
  return found
}
