/**
 * Messages and result records made by `new`, not by an object literal, on the paths a burst of
 * sends takes (one of each a task). V8 pretenures a literal's allocation site once the objects it
 * made all survive a scavenge, as 100k messages sent at once and the records kept after them do:
 * from then on each is made in old space, and while incremental marking runs every pointer stored
 * into one (its fields, the Map entry of its id) is a slow write barrier. Objects made by `new`
 * are always made young; the scavenger copies the survivors, on its helper threads too.
 * Inline, 100k at once: main-thread CPU a task -7% over 30 paired rounds (NOTES.md, "inl9").
 *
 * The constructors' prototype is Object.prototype, so what they make is as plain as a literal
 * (its prototype, `constructor`, own enumerable fields in the same order, structured clone).
 */
import type { Encoded } from './json.js'
import type { ChordRef, ResultRecord, SignatureJSON, TaskMessage } from './message.js'
import type { State } from './states.js'

function MessageFields(
  this: TaskMessage,
  id: string,
  task: string,
  args: Encoded[],
  headers: Encoded | null,
  queue: string,
  priority: number,
  eta: number | null,
  expires: number | null,
  retries: number,
  seq: number,
  parentId: string | null,
  rootId: string,
  groupId: string | null,
  groupIndex: number | null,
  chord: ChordRef | null,
  chain: SignatureJSON[],
  links: SignatureJSON[],
  linkErrors: SignatureJSON[],
  timeLimit: number | null,
  softTimeLimit: number | null,
  ignoreResult: boolean,
  acksLate: boolean,
  leased: boolean,
  redelivered: boolean,
): void {
  this.id = id
  this.task = task
  this.args = args
  this.headers = headers
  this.queue = queue
  this.priority = priority
  this.eta = eta
  this.expires = expires
  this.retries = retries
  this.seq = seq
  this.parentId = parentId
  this.rootId = rootId
  this.groupId = groupId
  this.groupIndex = groupIndex
  this.chord = chord
  this.chain = chain
  this.links = links
  this.linkErrors = linkErrors
  this.timeLimit = timeLimit
  this.softTimeLimit = softTimeLimit
  this.ignoreResult = ignoreResult
  this.acksLate = acksLate
  this.leased = leased
  this.redelivered = redelivered
}
MessageFields.prototype = Object.prototype

function RecordFields(
  this: ResultRecord,
  id: string,
  task: string,
  state: State,
  result: Encoded | null,
  traceback: string | null,
  dateDone: number | null,
  retries: number,
  parentId: string | null,
  rootId: string | null,
  groupId: string | null,
  children: string[],
  expiresAt: number | null,
  acksLate: boolean,
): void {
  this.id = id
  this.task = task
  this.state = state
  this.result = result
  this.traceback = traceback
  this.dateDone = dateDone
  this.retries = retries
  this.parentId = parentId
  this.rootId = rootId
  this.groupId = groupId
  this.children = children
  this.expiresAt = expiresAt
  this.acksLate = acksLate
}
RecordFields.prototype = Object.prototype

/** A message, its fields in TaskMessage's order (the order a literal of it lists them). */
export const YoungMessage = MessageFields as unknown as new (...fields: Parameters<typeof MessageFields>) => TaskMessage

/** A result record, its fields in ResultRecord's order. */
export const YoungRecord = RecordFields as unknown as new (...fields: Parameters<typeof RecordFields>) => ResultRecord
