/**
 * A TypeDoc plugin: every symbol an entry point exports has an `@example` (issue 19: "every
 * public symbol has a summary and an example"). TypeDoc's own `notDocumented` validation asks
 * for the summary; this asks for the example, as a warning, which `treatWarningsAsErrors`
 * (typedoc.json) makes a failed `npm run docs`. A symbol re-exported by a second entry point is a
 * reference there and is checked where it is declared. test/docs/snippets.test.ts type-checks the
 * examples themselves.
 */
import { Application, ReflectionKind } from 'typedoc'

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
    for (const module of project.children ?? []) {
      for (const symbol of module.children ?? []) {
        if (symbol.kindOf(ReflectionKind.Reference)) continue
        if (!commentsOf(symbol).some(hasExample)) {
          app.logger.warn(`${module.name}.${symbol.name} (${ReflectionKind.singularString(symbol.kind)}) has no @example`)
        }
      }
    }
  })
}
