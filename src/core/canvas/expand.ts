/**
 * How a signature of any kind (its JSON form) becomes messages. A chain's first task carries the
 * remaining steps (Celery's `chain` field); a group's members share a group id; a chord's header
 * tasks each carry a counter reference, and the body is sent by the engine when the counter is
 * full; a group whose list is one member of a chord header is counted as a join. Ids are
 * assigned first, and the tree given the shape Celery runs (`freeze`, freeze.ts), so handles
 * exist at once.
 */
import { ConfigError } from '../model/errors.js'
import { NONE, ROOT_CONTEXT } from '../model/context.js'
import type { ChordRecord, Expansion, HandleJSON, MessageContext } from '../model/context.js'
import type { Encoded } from '../model/json.js'
import type { ChordRef, SignatureJSON, SignatureOptionsJSON, TaskMessage } from '../model/message.js'
import { checkDuration, checkName, checkPriority, checkTime } from '../model/validate.js'
import { YoungMessage } from '../model/young.js'
import type { Route, TaskProfile } from '../model/options.js'
import { DEFAULT_QUEUE } from '../model/options.js'
import type { Mutation } from '../../storage/types.js'
import { withInherited } from './headers.js'
import { freeze, inherit, isFrozen, passedOn, upgraded } from './freeze.js'
import { finalId, finalIds } from './nodes.js'

// Sending freezes first (app.ts, and a worker's executor): one import for both.
export { freeze } from './freeze.js'
export { finalId } from './nodes.js'

/** What turning signatures into messages needs to know. */
export interface ExpandEnv {
  now(): number
  newId(): string
  profile(name: string): TaskProfile | undefined
  route(name: string): Route | undefined
  /** Throws ConfigError for an undeclared queue (`task` names the send in the message). */
  checkQueue(queue: string, task: string): void
  /** Where a send no route or task names goes. @default 'default' */
  readonly defaultQueue?: string
}

/** Turns a signature (any kind) into its messages and handle. */
export function expand(json: SignatureJSON, context: MessageContext, env: ExpandEnv): Expansion {
  if (json.kind === 'task') {
    const message = taskMessage(json, context, env)
    return { messages: [message], mutations: [], handle: { kind: 'result', id: message.id, parent: null, ignored: message.ignoreResult } }
  }
  // A link or errback is frozen when it is sent (each time anew); a sent canvas already was.
  const node = isFrozen(json) ? json : freeze(json, env)
  // Partial args given to a canvas node (`chain(...).delay(5)`) go where a parent's result goes,
  // after it: to a chain's first step, to every member of a group or chord header (Celery's
  // partial args).
  const inner = node.args.length === 0 ? context : { ...context, prepend: [...(context.prepend ?? []), ...node.args] }
  switch (node.kind) {
    case 'chain':
      return expandChain(node, inner, env)
    case 'group':
      return expandGroup(node, inner, env)
    case 'chord':
      return expandChord(node, inner, env)
    default:
      throw new ConfigError(`Unknown signature kind '${String(node.kind)}'`)
  }
}

/** The id of the first task a frozen node sends, or null for an empty group. */
function firstId(json: SignatureJSON): string | null {
  if (json.kind === 'task') return json.options.taskId as string
  const first = json.tasks?.[0] ?? json.body
  return first === undefined ? null : firstId(first)
}

/** The handle of a frozen node, with `parent` links along a chain. */
export function handleOf(json: SignatureJSON, parent: HandleJSON | null): HandleJSON {
  switch (json.kind) {
    case 'task':
      return { kind: 'result', id: json.options.taskId as string, parent }
    case 'group':
      return { kind: 'group', id: json.options.taskId as string, results: (json.tasks ?? []).map((t) => handleOf(t, null)), parent }
    case 'chord': {
      const header: HandleJSON = { kind: 'group', id: json.options.taskId as string, results: (json.tasks ?? []).map((t) => handleOf(t, null)), parent }
      return handleOf(json.body!, header)
    }
    case 'chain': {
      let handle = parent
      for (const step of json.tasks ?? []) handle = handleOf(step, handle)
      return handle!
    }
  }
}

/**
 * Marks where a group or chord member's result is made, so it counts there: a task itself; a
 * chain's last step; a chord's body (a chord in a chord header counts as its body, Celery's
 * `_chord._descend`). A group whose list is a chord header member's result (a chain ending in a
 * group) is marked as a whole and counted as a join (expandGroup); in a group, such a member is
 * a GroupResult of its own and needs no count.
 */
function withMembership(json: SignatureJSON, chord: ChordRef | null, groupId: string | null, groupIndex: number | null): SignatureJSON {
  switch (json.kind) {
    case 'chain': {
      const steps = [...json.tasks!]
      steps[steps.length - 1] = withMembership(steps[steps.length - 1]!, chord, groupId, groupIndex)
      return { ...json, tasks: steps }
    }
    case 'chord':
      return { ...json, body: withMembership(json.body!, chord, groupId, groupIndex) }
    case 'group':
      if (chord === null) return json
      return { ...json, options: { ...json.options, chordRef: chord } }
    default:
      return { ...json, options: { ...json.options, chordRef: chord, groupRef: groupId, groupIndexRef: groupIndex } }
  }
}

function expandChain(json: SignatureJSON, context: MessageContext, env: ExpandEnv): Expansion {
  const steps = json.tasks ?? []
  if (steps.length === 0) throw new ConfigError('An empty chain cannot be sent: give chain() at least one signature')
  // As in Celery, the chain's errbacks go to every step (a failure stops the chain, so they run
  // once, for the step that failed) and its callbacks to the last step (they get the chain's
  // result). Other options given to the chain (applyAsync on it) go to its first step; headers
  // reach every step.
  const { link, linkError, ...options } = withoutHeaders(json.options)
  const last = steps.length - 1
  const [first, ...rest] = steps.map((step, i) => withCallbacks(step, i === last ? link : undefined, linkError))
  const firstWithOptions: SignatureJSON = { ...first!, options: { ...first!.options, ...options } }
  const headers = withInherited(json.options.headers, context.headers)
  const sub = expand(firstWithOptions, { ...context, headers, chain: [...rest, ...context.chain] }, env)
  return { messages: sub.messages, mutations: sub.mutations, handle: handleOf(json, null) }
}

function withoutHeaders(options: SignatureJSON['options']): SignatureJSON['options'] {
  const { headers: _headers, taskId: _taskId, ...rest } = options
  return rest
}

/** `json` with more link callbacks and errbacks, after its own. */
function withCallbacks(json: SignatureJSON, link: SignatureJSON[] | undefined, linkError: SignatureJSON[] | undefined): SignatureJSON {
  if (link === undefined && linkError === undefined) return json
  const options = { ...json.options }
  if (link !== undefined) options.link = [...(options.link ?? []), ...link]
  if (linkError !== undefined) options.linkError = [...(options.linkError ?? []), ...linkError]
  return { ...json, options }
}

function expandGroup(json: SignatureJSON, context: MessageContext, env: ExpandEnv): Expansion {
  // A group followed by a step becomes a chord (Celery's upgrade; freeze does it for a chain's
  // own steps, this for a group that ends a nested chain or a chord body followed by more steps).
  const [next, ...rest] = context.chain
  if (next !== undefined) return expandChord(upgraded(json, next), { ...context, chain: rest }, env)
  const groupId = json.options.taskId as string
  const join = (json.options.chordRef as ChordRef | null | undefined) ?? null
  const messages: TaskMessage[] = []
  const mutations: Mutation[] = []
  const members = json.tasks ?? []
  const options = passedOn(withoutHeaders(json.options))
  const headers = withInherited(json.options.headers, context.headers)
  const joinKey = `${groupId}:join`
  for (let i = 0; i < members.length; i++) {
    const ref: ChordRef | null = join === null ? null : { id: joinKey, size: members.length, index: i }
    const member = withMembership(inherit(members[i]!, options, []), ref, groupId, i)
    const sub = expand(member, { ...context, chain: [], chord: null, groupId, groupIndex: i, headers }, env)
    messages.push(...sub.messages)
    mutations.push(...sub.mutations)
  }
  if (join !== null) {
    // Refused at send (freeze): nothing would ever count an empty group.
    if (members.length === 0) throw new ConfigError('A chord header member whose result is an empty group would never be counted')
    const record: ChordRecord = {
      size: members.length,
      count: 0,
      failedIndex: null,
      ids: members.map(finalIds),
      body: null,
      part: join,
      chain: [],
      rootId: context.rootId ?? firstId(json),
      headers,
      lastId: null,
    }
    mutations.push({ op: 'put', ns: 'chords', key: joinKey, value: record })
  }
  return { messages, mutations, handle: handleOf(json, null) }
}

function expandChord(json: SignatureJSON, context: MessageContext, env: ExpandEnv): Expansion {
  const header = json.tasks ?? []
  // Celery's chord.link and chord.link_error go to the body (task_allow_error_cb_on_chord_header
  // off, its default): the errback runs once, with the body's id, when a header task fails.
  const body = withCallbacks(json.body!, json.options.link, json.options.linkError)
  const chordId = finalId(body)
  const groupId = json.options.taskId as string
  const headers = withInherited(json.options.headers, context.headers)
  if (header.length === 0) {
    // An empty header calls the body at once with [].
    const sub = expand(body, { ...context, prepend: [[]], headers }, env)
    return { messages: sub.messages, mutations: sub.mutations, handle: handleOf(json, null) }
  }
  const messages: TaskMessage[] = []
  const mutations: Mutation[] = []
  // A chord sent on its own is one workflow: its first header task is the root of all of it.
  const rootId = context.rootId ?? firstId(header[0]!)
  // Its other send options reach the header tasks, as a group's reach its members (Celery
  // applies the header with them); the body keeps its own.
  const { link: _link, linkError: _linkError, ...memberOptions } = passedOn(withoutHeaders(json.options))
  for (let i = 0; i < header.length; i++) {
    const ref: ChordRef = { id: chordId, size: header.length, index: i }
    const member = withMembership(inherit(header[i]!, memberOptions, []), ref, groupId, i)
    const sub = expand(member, { ...context, rootId, chain: [], chord: null, groupId, groupIndex: i, headers }, env)
    messages.push(...sub.messages)
    mutations.push(...sub.mutations)
  }
  const record: ChordRecord = {
    size: header.length,
    count: 0,
    failedIndex: null,
    ids: header.map(finalIds),
    body,
    chain: context.chain,
    rootId,
    headers,
    lastId: null,
  }
  mutations.push({ op: 'put', ns: 'chords', key: chordId, value: record })
  return { messages, mutations, handle: handleOf(json, null) }
}

function taskMessage(json: SignatureJSON, context: MessageContext, env: ExpandEnv): TaskMessage {
  return messageOf(json.task, json.args, json.options, json.immutable, context, env)
}

/**
 * The message of a task sent on its own as a new root (`delay`, `applyAsync`, `sendTask`): the
 * same as expanding a task signature, without building the signature first.
 */
export function rootMessage(name: string, args: Encoded[], options: SignatureOptionsJSON, env: ExpandEnv): TaskMessage {
  return messageOf(name, args, options, true, ROOT_CONTEXT, env)
}

function messageOf(name: string, givenArgs: Encoded[], o: SignatureOptionsJSON, immutable: boolean, context: MessageContext, env: ExpandEnv): TaskMessage {
  // Labels for errors are built only when there is an error: this runs for every send.
  checkName(name, 'task name')
  const task = env.profile(name)
  const route = env.route(name)
  // A given id is never replaced: the caller may already hold a handle to it.
  const givenId = o.taskId
  const id = givenId === undefined ? env.newId() : typeof givenId === 'string' && givenId !== '' ? givenId : checkName(givenId, `${sending(name)}: taskId`)
  const queue = o.queue ?? route?.queue ?? task?.queue ?? env.defaultQueue ?? DEFAULT_QUEUE
  env.checkQueue(queue, name)
  const given = o.priority ?? route?.priority ?? task?.priority
  const priority = given === undefined ? 0 : checkPriority(given, sending(name))
  let eta: number | null = null
  let expires: number | null = null
  let timeLimit: number | null = null
  let softTimeLimit: number | null = null
  if (o.eta !== undefined || o.countdown !== undefined || o.expiresAt !== undefined || o.expires !== undefined || task?.expires != null) {
    const now = env.now()
    if (o.eta !== undefined) eta = checkTime(o.eta, `${sending(name)}: eta`)
    if (o.countdown !== undefined) {
      if (o.eta !== undefined) throw new ConfigError(`${sending(name)}: give countdown or eta, not both`)
      eta = now + checkDuration(o.countdown, `${sending(name)}: countdown`)
    }
    if (o.expiresAt !== undefined) expires = checkTime(o.expiresAt, `${sending(name)}: expires`)
    else if (o.expires !== undefined) expires = now + checkDuration(o.expires, `${sending(name)}: expires`)
    else if (task?.expires != null) expires = now + task.expires
  }
  if (o.timeLimit !== undefined || o.softTimeLimit !== undefined) {
    timeLimit = o.timeLimit !== undefined ? checkDuration(o.timeLimit, `${sending(name)}: timeLimit`, true) : null
    softTimeLimit = o.softTimeLimit !== undefined ? checkDuration(o.softTimeLimit, `${sending(name)}: softTimeLimit`, true) : null
    const hard = timeLimit ?? task?.timeLimit ?? null
    if (softTimeLimit !== null && hard !== null && softTimeLimit > hard) {
      throw new ConfigError(`${sending(name)}: softTimeLimit (${String(softTimeLimit)} ms) must not exceed timeLimit (${String(hard)} ms)`)
    }
  }
  const args = context.prepend === null || immutable ? givenArgs : [...context.prepend, ...givenArgs]
  // By `new`, not a literal: see model/young.ts.
  return new YoungMessage(
    id,
    name,
    args,
    withInherited(o.headers, context.headers),
    queue,
    priority,
    eta,
    expires,
    0, // retries
    0, // seq
    context.parentId,
    context.rootId ?? id,
    typeof o.groupRef === 'string' ? o.groupRef : context.groupId,
    typeof o.groupIndexRef === 'number' ? o.groupIndexRef : context.groupIndex,
    (o.chordRef as ChordRef | null | undefined) ?? context.chord,
    context.chain,
    o.link ?? NONE, // links
    o.linkError ?? NONE, // linkErrors
    timeLimit,
    softTimeLimit,
    o.ignoreResult ?? task?.ignoreResult ?? false,
    task?.acksLate ?? false,
    false, // leased
    false, // redelivered
  )
}

/** Where a send's bad input is reported: `sending 'math.add'`. */
function sending(name: string): string {
  return `sending '${name}'`
}
