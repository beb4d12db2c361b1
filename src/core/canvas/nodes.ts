/**
 * Reading a frozen canvas node (its JSON form, ids assigned): whose results are its result,
 * every task id in it, where its result counts for a chord, and which tasks a failure of the
 * whole node reaches first. The engine uses these to end a node it could not send.
 */
import type { MemberIds } from '../model/context.js'
import type { ChordRef, SignatureJSON } from '../model/message.js'

/** The id whose result is a node's result (a chain's last step, a chord's body; a group's own id). */
export function finalId(json: SignatureJSON): string {
  switch (json.kind) {
    case 'chain':
      return finalId(json.tasks![json.tasks!.length - 1]!)
    case 'chord':
      return finalId(json.body!)
    default:
      return json.options.taskId as string
  }
}

/** The ids whose results make a node's result: one id, or a group's members', nested. */
export function finalIds(json: SignatureJSON): MemberIds {
  switch (json.kind) {
    case 'chain':
      return finalIds(json.tasks![json.tasks!.length - 1]!)
    case 'chord':
      return finalIds(json.body!)
    case 'group':
      return (json.tasks ?? []).map(finalIds)
    default:
      return json.options.taskId as string
  }
}

/** Where a node's result counts for a chord (set on its final task, or on a group counted whole). */
export function finalRef(json: SignatureJSON): ChordRef | null {
  switch (json.kind) {
    case 'chain':
      return json.tasks === undefined || json.tasks.length === 0 ? null : finalRef(json.tasks[json.tasks.length - 1]!)
    case 'chord':
      return json.body === undefined ? null : finalRef(json.body)
    default:
      return (json.options.chordRef as ChordRef | null | undefined) ?? null
  }
}

/** A task of a node: its id and name. */
export interface NodeTask {
  readonly id: string
  readonly task: string
}

/** Every task of a node that has an id (all of them, once frozen), in order; added to `out`. */
export function tasksOf(json: SignatureJSON, out: NodeTask[]): void {
  if (json.kind === 'task') {
    if (typeof json.options.taskId === 'string') out.push({ id: json.options.taskId, task: json.task })
    return
  }
  for (const t of json.tasks ?? []) tasksOf(t, out)
  if (json.body !== undefined) tasksOf(json.body, out)
}

/** A task a failure of its whole node reaches first, with the errbacks that run for it. */
export interface FailedEntry extends NodeTask {
  readonly errbacks: readonly SignatureJSON[]
}

/**
 * The tasks a failure of the whole node runs errbacks for, as if each had failed: a task
 * itself; a chain's first step (its errbacks go to every step, so they run once); every member
 * of a group (a group's errbacks go to each member); a chord's body (its errbacks go there).
 * `inherited` are the errbacks of the nodes around it.
 */
export function failedEntries(json: SignatureJSON, inherited: readonly SignatureJSON[], out: FailedEntry[]): void {
  const own = json.options.linkError ?? []
  const errbacks = own.length === 0 ? inherited : [...own, ...inherited]
  switch (json.kind) {
    case 'task':
      if (typeof json.options.taskId === 'string') out.push({ id: json.options.taskId, task: json.task, errbacks })
      return
    case 'chain': {
      const first = json.tasks?.[0]
      if (first !== undefined) failedEntries(first, errbacks, out)
      return
    }
    case 'group':
      for (const member of json.tasks ?? []) failedEntries(member, errbacks, out)
      return
    case 'chord':
      if (json.body !== undefined) failedEntries(json.body, errbacks, out)
      return
  }
}
