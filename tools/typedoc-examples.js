/**
 * A TypeDoc plugin: every symbol an entry point exports has an `@example` (issue 19: "every
 * public symbol has a summary and an example"). TypeDoc's own `notDocumented` validation asks
 * for the summary; this asks for the example, as a warning, which `treatWarningsAsErrors`
 * (typedoc.json) makes a failed `npm run docs`. A symbol re-exported by a second entry point is a
 * reference there and is checked where it is declared.
 *
 * tools/api-examples-todo.txt lists the symbols still without one (`module.Name`, a line each):
 * they are let through, and the list may only shrink (a listed symbol that has an example, or no
 * longer exists, is a warning too).
 */
import { readFileSync } from 'node:fs'
import { Application, ReflectionKind } from 'typedoc'

const TODO = new URL('./api-examples-todo.txt', import.meta.url)

/** @param {import('typedoc').Comment | undefined} comment */
function hasExample(comment) {
  return comment?.blockTags.some((tag) => tag.tag === '@example') ?? false
}

/** @param {import('typedoc').DeclarationReflection} symbol */
function commentsOf(symbol) {
  const declaration = symbol.type?.type === 'reflection' ? symbol.type.declaration : undefined
  return [symbol.comment, ...(symbol.signatures ?? []).map((s) => s.comment), ...(declaration?.signatures ?? []).map((s) => s.comment)]
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const todo = new Set(
      readFileSync(TODO, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#')),
    )
    const seen = new Set()
    for (const module of project.children ?? []) {
      for (const symbol of module.children ?? []) {
        if (symbol.kindOf(ReflectionKind.Reference)) continue
        const name = `${module.name}.${symbol.name}`
        seen.add(name)
        const example = commentsOf(symbol).some(hasExample)
        if (!example && !todo.has(name)) app.logger.warn(`${name} (${ReflectionKind.singularString(symbol.kind)}) has no @example`)
        if (example && todo.has(name)) app.logger.warn(`${name} has an @example now: take it off tools/api-examples-todo.txt`)
      }
    }
    for (const name of todo) if (!seen.has(name)) app.logger.warn(`tools/api-examples-todo.txt lists ${name}, which no entry point exports`)
  })
}
