/**
 * Freezing (Celery's `freeze`): before a canvas is sent every node gets its id, so its handle
 * exists at once, and the tree takes the shape Celery runs it in (celery/canvas.py, v5.2):
 *
 * - a chain inside a chain is spliced into it (`_chain.prepare_steps`: "splice (unroll) the
 *   chain"), and a chain of one step is that step (`chain(x)` is `chain() | x`);
 * - a group followed by a step in a chain becomes a chord with that step as its body
 *   (`prepare_steps`: "upgrade group(...) | s to chord");
 * - a group inside a group, or in a chord header, is flattened into it (`group._prepared`,
 *   `group._freeze_unroll`), its options and partial args passed on to its members.
 *
 * What cannot run is refused here, at send, with a ConfigError.
 */
import { ConfigError } from '../model/errors.js'
import type { Encoded } from '../model/json.js'
import type { SignatureJSON, SignatureOptionsJSON } from '../model/message.js'
import { withInherited } from './headers.js'

/** What freezing needs: fresh ids. */
export interface FreezeEnv {
  newId(): string
}

/** Assigns ids to every node before anything is sent, and gives the tree Celery's shape (above). */
export function freeze(json: SignatureJSON, env: FreezeEnv): SignatureJSON {
  switch (json.kind) {
    case 'task':
      return typeof json.options.taskId === 'string' ? json : { ...json, options: { ...json.options, taskId: env.newId() } }
    case 'chain': {
      const steps = spliced(json.tasks ?? [])
      if (steps.length === 0) throw new ConfigError('An empty chain cannot be sent: give chain() at least one signature')
      if (steps.length === 1 && isBare(json)) return freeze(steps[0]!, env)
      const out: SignatureJSON[] = []
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!
        const next = steps[i + 1]
        if (step.kind === 'group' && next !== undefined) {
          // The id given to the group stays the header's (a chord's own taskId names its body).
          const { taskId, ...options } = upgraded(step, next).options
          const chord = freeze({ ...upgraded(step, next), options }, env)
          out.push(typeof taskId === 'string' ? { ...chord, options: { ...chord.options, taskId } } : chord)
          i++
        } else out.push(freeze(step, env))
      }
      // Celery's chain(...).apply_async(task_id=...): the id names the last task, the chain's result.
      const last = out.length - 1
      if (typeof json.options.taskId === 'string') out[last] = named(out[last]!, json.options.taskId)
      return { ...json, tasks: out }
    }
    case 'group':
      return { ...json, options: withId(json.options, env), tasks: flattened(json.tasks ?? []).map((s) => freeze(s, env)) }
    case 'chord': {
      if (json.body === undefined) throw new ConfigError('A chord needs a body: chord(header, body)')
      const header = flattened(json.tasks ?? []).map((s) => freeze(s, env))
      // Celery counts such a member by the tasks of its empty group (`_chord._descend`): none, so
      // its chord never completes. Refused here instead.
      for (const member of header) {
        if (endsInEmptyGroup(member)) {
          throw new ConfigError(
            'A chord header member whose result is an empty group (a chain ending in group([])) would never be counted; drop the empty group or give it tasks',
          )
        }
      }
      // Celery's chord(...).apply_async(task_id=...) names the body; the header's group id is its
      // own. Frozen, a chord's taskId is that group id.
      const body = freeze(json.body, env)
      const given = json.options.taskId
      return { ...json, options: { ...json.options, taskId: env.newId() }, tasks: header, body: typeof given === 'string' ? named(body, given) : body }
    }
    default:
      throw new ConfigError(`Unknown signature kind '${String(json.kind)}'`)
  }
}

/** A frozen node whose result (a chain's last task, a chord's body) gets the id `id`. */
function named(json: SignatureJSON, id: string): SignatureJSON {
  switch (json.kind) {
    case 'chain': {
      const tasks = [...json.tasks!]
      tasks[tasks.length - 1] = named(tasks[tasks.length - 1]!, id)
      return { ...json, options: { ...json.options, taskId: id }, tasks }
    }
    case 'chord':
      return { ...json, body: named(json.body!, id) }
    default:
      return { ...json, options: { ...json.options, taskId: id } }
  }
}

/**
 * The chord a group followed by `body` in a chain becomes. The group's options go to its
 * members (as they would in the group), its partial args stay on the node (they reach every
 * header task), its id is the header's id.
 */
export function upgraded(group: SignatureJSON, body: SignatureJSON): SignatureJSON {
  const options: SignatureOptionsJSON = typeof group.options.taskId === 'string' ? { taskId: group.options.taskId } : {}
  const passed = passedOn(group.options)
  return { task: '', args: group.args, options, immutable: false, kind: 'chord', tasks: (group.tasks ?? []).map((m) => inherit(m, passed, [])), body }
}

/**
 * `member` with a parent group's options under its own (link callbacks and errbacks added after
 * its own) and the group's partial args before its own (unless it is an immutable task), as a
 * member of that group gets them.
 */
export function inherit(member: SignatureJSON, options: SignatureOptionsJSON, args: readonly Encoded[]): SignatureJSON {
  const own = member.options
  const merged: SignatureOptionsJSON = { ...options, ...own }
  if (options.link !== undefined && own.link !== undefined) merged.link = [...own.link, ...options.link]
  if (options.linkError !== undefined && own.linkError !== undefined) merged.linkError = [...own.linkError, ...options.linkError]
  if (options.headers !== undefined && own.headers !== undefined) merged.headers = withInherited(own.headers, options.headers)!
  const prepend = args.length > 0 && !(member.kind === 'task' && member.immutable)
  return { ...member, options: merged, args: prepend ? [...args, ...member.args] : member.args }
}

/** A node's options that its members inherit: all but its own id and its place in an outer canvas. */
export function passedOn(options: SignatureOptionsJSON): SignatureOptionsJSON {
  const { taskId: _taskId, chordRef: _chordRef, groupRef: _groupRef, groupIndexRef: _groupIndexRef, ...rest } = options
  return rest
}

/** Nested chains with nothing of their own spliced in (one with options or args stays a node). */
function spliced(steps: readonly SignatureJSON[]): SignatureJSON[] {
  const out: SignatureJSON[] = []
  for (const step of steps) {
    if (step.kind === 'chain' && isBare(step)) out.push(...spliced(step.tasks ?? []))
    else out.push(step)
  }
  return out
}

/** Members with nested groups flattened in, in order, each given its group's options and args. */
function flattened(members: readonly SignatureJSON[]): SignatureJSON[] {
  const out: SignatureJSON[] = []
  for (const given of members) {
    const member = alone(given)
    if (member.kind !== 'group') out.push(member)
    else {
      const options = passedOn(member.options)
      out.push(...flattened((member.tasks ?? []).map((m) => inherit(m, options, member.args))))
    }
  }
  return out
}

/** A chain of one step with nothing of its own is that step. */
function alone(json: SignatureJSON): SignatureJSON {
  return json.kind === 'chain' && json.tasks?.length === 1 && isBare(json) ? alone(json.tasks[0]!) : json
}

function isBare(json: SignatureJSON): boolean {
  return json.args.length === 0 && Object.keys(json.options).length === 0
}

function withId(options: SignatureOptionsJSON, env: FreezeEnv): SignatureOptionsJSON {
  return typeof options.taskId === 'string' ? options : { ...options, taskId: env.newId() }
}

/** Whether a frozen node's result is an empty group's. */
function endsInEmptyGroup(json: SignatureJSON): boolean {
  switch (json.kind) {
    case 'chain':
      return endsInEmptyGroup(json.tasks![json.tasks!.length - 1]!)
    case 'chord':
      return endsInEmptyGroup(json.body!)
    case 'group':
      return (json.tasks ?? []).length === 0
    default:
      return false
  }
}

/**
 * Whether a node was frozen. Links and errbacks are not frozen with the canvas that carries them
 * (one may run several times, each time with new ids): they are frozen when they are sent.
 */
export function isFrozen(json: SignatureJSON): boolean {
  switch (json.kind) {
    case 'task':
      return typeof json.options.taskId === 'string'
    case 'chain': {
      const steps = json.tasks ?? []
      return steps.length > 0 && isFrozen(steps[0]!) && isFrozen(steps[steps.length - 1]!)
    }
    case 'chord':
      // Its header too: a chord (a link) given ids for itself and its body only is not frozen.
      return typeof json.options.taskId === 'string' && json.body !== undefined && isFrozen(json.body) && (json.tasks ?? []).every(isFrozen)
    default:
      return typeof json.options.taskId === 'string'
  }
}
