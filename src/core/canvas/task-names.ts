/**
 * The task names a canvas sends, now or later: its tasks, a chain's steps, a group's members, a
 * chord's header and body, and every link and errback on them. A consuming app refuses a send
 * that names one it cannot run (NotRegistered), rather than fail a later step at run time.
 */
import type { SignatureJSON } from '../model/message.js'

/** A task name no one can run, and where it is, for the message: `'chain step 2, link 1'` ('' at the top). */
export interface UnknownTask {
  name: string
  where: string
}

type Known = (name: string) => boolean

/** The first task name in `json` that `known` refuses, with where it is; undefined when all are known. */
export function unknownTaskIn(json: SignatureJSON, known: Known): UnknownTask | undefined {
  return found(visit(json, known))
}

/** The same over a message's links or errbacks (`label`: 'link' or 'errback'). */
export function unknownTaskInLinks(links: readonly SignatureJSON[], known: Known, label: string): UnknownTask | undefined {
  return found(visitLinks(links, known, label))
}

/** The name and the path to it, outermost first; the path is built only for the one found. */
type Found = { name: string; path: string[] } | undefined

function found(result: Found): UnknownTask | undefined {
  return result === undefined ? undefined : { name: result.name, where: result.path.join(', ') }
}

function visit(json: SignatureJSON, known: Known): Found {
  if (json.kind === 'task' && !known(json.task)) return { name: json.task, path: [] }
  const tasks = json.tasks
  if (tasks !== undefined) {
    for (let i = 0; i < tasks.length; i++) {
      const result = visit(tasks[i]!, known)
      if (result !== undefined)
        return at(result, `${json.kind} ${json.kind === 'chain' ? 'step' : json.kind === 'group' ? 'member' : 'header task'} ${String(i + 1)}`)
    }
  }
  if (json.body !== undefined) {
    const result = visit(json.body, known)
    if (result !== undefined) return at(result, 'chord body')
  }
  const { link, linkError } = json.options
  return (link === undefined ? undefined : visitLinks(link, known, 'link')) ?? (linkError === undefined ? undefined : visitLinks(linkError, known, 'errback'))
}

function visitLinks(links: readonly SignatureJSON[], known: Known, label: string): Found {
  for (let i = 0; i < links.length; i++) {
    const result = visit(links[i]!, known)
    if (result !== undefined) return at(result, `${label} ${String(i + 1)}`)
  }
  return undefined
}

function at(result: NonNullable<Found>, segment: string): Found {
  result.path.unshift(segment)
  return result
}
