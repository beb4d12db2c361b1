/**
 * Where a message sits in a workflow, as data the canvas and the engine share: the context a
 * new message is made in, what a signature expands to, a handle as data, and a chord's record.
 */
import type { Mutation } from '../../storage/types.js'
import type { Encoded } from './json.js'
import type { ChordRef, SignatureJSON, TaskMessage } from './message.js'

/** Where a new message sits in a workflow. */
export interface MessageContext {
  /** Encoded values prepended to the args (a parent's result), unless the signature is immutable. */
  prepend: Encoded[] | null
  parentId: string | null
  rootId: string | null
  /** Headers of the parent, carried down a chain. */
  headers: Encoded | null
  /** Chain steps after this node. */
  chain: SignatureJSON[]
  groupId: string | null
  groupIndex: number | null
  chord: TaskMessage['chord']
}

/** The messages a canvas node turns into, and the handle its sender gets. */
export interface Expansion {
  messages: TaskMessage[]
  /** Writes besides the messages (e.g. a chord counter). */
  mutations: Mutation[]
  handle: HandleJSON
}

/** A result handle as data (crosses to workers); `ignored`: its task stores no result. */
export type HandleJSON =
  | { kind: 'result'; id: string; parent: HandleJSON | null; ignored?: boolean }
  | { kind: 'group'; id: string; results: HandleJSON[]; parent: HandleJSON | null }

/**
 * The ids whose results make a chord header member's result: one id, or for a member whose result
 * is a group's (a chain ending in a group) the list of its members' ids, nested the same way.
 */
export type MemberIds = string | MemberIds[]

/**
 * The stored state of a chord: how many header tasks are in, and what to run when all are. A
 * group whose list counts as one member of an outer chord (a chain ending in a group, in a
 * chord header) is counted the same way, as a *join*: no body; when all its members are in,
 * it counts once, in `part`, for the outer chord.
 */
export interface ChordRecord {
  size: number
  count: number
  /** Lowest header index that failed, or null. */
  failedIndex: number | null
  /** The final task id(s) of each header member, in header order. */
  ids: MemberIds[]
  /** What runs when all are in; null for a join. */
  body: SignatureJSON | null
  /** A join's place in the outer chord. */
  part?: ChordRef
  chain: SignatureJSON[]
  rootId: string | null
  headers: Encoded | null
  /** The header task counted last: the body's parent (Celery sends the body from it). */
  lastId: string | null
}

/**
 * The shared empty list for the chain/links/errbacks of a message that has none: messages are
 * stored as they are, often by the hundred thousand, and never changed in place.
 */
export const NONE: never[] = Object.freeze([]) as never[]

/** The context of a signature sent on its own (a new root). */
export const ROOT_CONTEXT: MessageContext = Object.freeze({
  prepend: null,
  parentId: null,
  rootId: null,
  headers: null,
  chain: NONE,
  groupId: null,
  groupIndex: null,
  chord: null,
})

/**
 * The context of a message sent from another (a chain's next step, a link, an errback, a chord's
 * body, a task's own send): its parent's place in the workflow, outside any group or chord.
 */
export function childContext(
  prepend: Encoded[] | null,
  parentId: string | null,
  rootId: string | null,
  headers: Encoded | null,
  chain: SignatureJSON[],
): MessageContext {
  return { prepend, parentId, rootId, headers, chain, groupId: null, groupIndex: null, chord: null }
}
