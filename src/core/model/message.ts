/**
 * The stored forms: a task message (what `delay()` writes and a worker consumes) and a result
 * record. Both are plain JSON; user values inside them are already encoded by the serializer.
 */
import type { Encoded } from './json.js'
import type { PlainSendOption, SendOptions } from './options.js'
import type { State } from './states.js'

/** The JSON form of a signature (any canvas node). */
export interface SignatureJSON {
  /** Task name; empty for chain/group/chord nodes. */
  task: string
  /** Encoded arguments array. */
  args: Encoded[]
  /** Send options (JSON form: eta/expires as epoch ms, headers encoded). */
  options: SignatureOptionsJSON
  immutable: boolean
  /** Canvas node kind. */
  kind: 'task' | 'chain' | 'group' | 'chord'
  /** chain steps / group members / chord header. */
  tasks?: SignatureJSON[]
  /** chord body. */
  body?: SignatureJSON
}

/** A signature's send options as JSON: the plain ones as given, the others converted. */
export interface SignatureOptionsJSON extends Pick<SendOptions, PlainSendOption> {
  eta?: number
  expires?: number
  /** Absolute expiry (epoch ms), when `expires` was a Date. */
  expiresAt?: number
  headers?: Encoded
  link?: SignatureJSON[]
  linkError?: SignatureJSON[]
  /** @internal marks the step whose result counts for a chord (a chain's last step). */
  chordRef?: ChordRef | null
  /** @internal the group this step's result belongs to. */
  groupRef?: string | null
  groupIndexRef?: number | null
}

/** Membership of a chord header task: where to count and what to run when all are in. */
export interface ChordRef {
  /** The chord's counter key (the body's task id). */
  id: string
  /** Number of header tasks. */
  size: number
  /** This header task's index. */
  index: number
}

/**
 * A queued (or running) task.
 *
 * @example
 * app.events.on('task-sent', (e) => console.log(e.id, e.name)) // what a TaskMessage carries, as events give it
 */
export interface TaskMessage {
  id: string
  task: string
  args: Encoded[]
  headers: Encoded | null
  queue: string
  priority: number
  /** Epoch ms; null = now. */
  eta: number | null
  /** Epoch ms; null = never. */
  expires: number | null
  retries: number
  /** Enqueue order, for FIFO among equal priorities. Assigned by the engine. */
  seq: number
  parentId: string | null
  rootId: string
  groupId: string | null
  groupIndex: number | null
  chord: ChordRef | null
  /** The chain steps still to run after this one, in order (Celery's `chain` field). */
  chain: SignatureJSON[]
  /** Callbacks on success (signature JSON). */
  links: SignatureJSON[]
  /** Callbacks on failure (signature JSON). */
  linkErrors: SignatureJSON[]
  timeLimit: number | null
  softTimeLimit: number | null
  ignoreResult: boolean
  acksLate: boolean
  /** Set while an acksLate task runs: re-queued after a crash. */
  leased: boolean
  /** Delivered again after its worker or process was lost (Celery's `delivery_info.redelivered`). */
  redelivered: boolean
}

/**
 * A task message with every other field at its usual value: no headers, priority 0, due now,
 * never expires, a first try, its own root, in no group, chord or chain, no callbacks or time
 * limits, acknowledged early. The one place these values are written; callers set what differs.
 *
 * @example
 * const m = plainMessage(id, 'tasks.add', [1, 2], 'default')
 * m.priority = 9
 */
export function plainMessage(id: string, task: string, args: Encoded[], queue: string): TaskMessage {
  return {
    id,
    task,
    args,
    headers: null,
    queue,
    priority: 0,
    eta: null,
    expires: null,
    retries: 0,
    seq: 0,
    parentId: null,
    rootId: id,
    groupId: null,
    groupIndex: null,
    chord: null,
    chain: [],
    links: [],
    linkErrors: [],
    timeLimit: null,
    softTimeLimit: null,
    ignoreResult: false,
    acksLate: false,
    leased: false,
    redelivered: false,
  }
}

/** A stored result. */
export interface ResultRecord {
  id: string
  task: string
  state: State
  /** Encoded value (SUCCESS), encoded error (FAILURE, REVOKED, RETRY), or encoded meta (custom states). */
  result: Encoded | null
  traceback: string | null
  dateDone: number | null
  retries: number
  parentId: string | null
  rootId: string | null
  groupId: string | null
  children: string[]
  /** Epoch ms after which the record is gone. */
  expiresAt: number | null
  /** Whether the id was acked early: a STARTED record without a message after a restart is a lost worker. */
  acksLate: boolean
}
