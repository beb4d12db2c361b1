/**
 * The failure matrix's tables (used by `failure-matrix.test.ts`): every way a run can end badly
 * (kinds), every place in a workflow a run can be (positions), and what a user sees for each.
 *
 * What is expected, from DESIGN §4 and NOTES.md (Celery's behaviour where they are silent):
 * - A run that ends as FAILURE (an exception, a hard or soft time limit, a lost worker, `Reject`
 *   without requeue (stored FAILURE, NOTES.md), a failed write of its outcome) stops its chain:
 *   the later steps are stored FAILURE with the same error (Celery 5's `mark_as_failure` walks
 *   `request.chain`), and its `linkError` runs once, with its id.
 * - A run that ends as REVOKED (revoked while queued, terminated while running, expired) leaves
 *   the later steps of its chain PENDING ("A revoked step leaves later steps PENDING", DESIGN §4)
 *   and runs no errback (Celery's `mark_as_revoked` calls none).
 * - Either way, when the run is in a chord's header (a member, a step of a chain that is a
 *   member, a member of a group that a chain turned into a chord), the chord's body is stored
 *   FAILURE with `ChordError` whose `cause` is the run's error, the steps after the body too,
 *   `get()` on the workflow rejects with `ChordError`, and the body's `linkError` (the chord's)
 *   runs once, with the body's id (DESIGN §4, "Chord").
 * - The engine ends idle: nothing running, ready or scheduled.
 */
import {
  ChordError,
  Reject,
  SoftTimeLimitExceeded,
  StorageError,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerLostError,
  chain,
  chord,
  group,
  states,
} from '../../src/index.js'
import type { AnySignature, Mutation, State, Storage } from '../../src/index.js'
import type { Combo, Harness } from './harness.js'
import type { ConformanceTasks } from './tasks.js'
import { InventoryError } from './tasks-workflows.js'

export const SECOND = 1_000

/** The ids the positions give their tasks: the run that fails, the steps after it, a chord's body and what follows the body. */
export const ids = { x: 'fm-x', later1: 'fm-later-1', later2: 'fm-later-2', body: 'fm-body', tail: 'fm-tail' } as const

type ErrorClass = abstract new (...args: never[]) => Error

/** One way a run ends badly. */
export interface Kind {
  readonly name: string
  /** What the run is stored as. */
  readonly state: State
  /** The error its `get()` rejects with. */
  readonly error: ErrorClass
  /** A `TaskRevokedError`'s reason. */
  readonly reason?: string
  /** The run never starts (its task must not log `ran x`). */
  readonly neverStarts?: boolean
  /** The signature that fails this way (the position gives it its id and place). */
  signature(t: ConformanceTasks): AnySignature
  /** What the test does at 1 s of engine time (the run is queued or running then). */
  act?(h: Harness): Promise<void>
  /** The storage to run on, made from the combination's. */
  storage?(inner: Storage): Storage
  /** Why this combination cannot have this kind of failure; undefined when it can. */
  skip?(combo: Combo): string | undefined
}

/** Where the failing run is; `build` places `x` (id `ids.x`) and the user's errback. */
export interface Position {
  readonly name: string
  build(t: ConformanceTasks, x: AnySignature, errback: AnySignature): AnySignature
  /** The id of the handle `delay()` gives the user. */
  readonly handle: string
  /** The steps after the run in its own chain. */
  readonly later: readonly string[]
  /** The run is in a chord's header: the body's id and the steps after the body. */
  readonly chord?: { readonly body: string; readonly after: readonly string[] }
}

/** A task that logs `ran <label>` when it runs: the steps that must never run. */
const step = (t: ConformanceTasks, label: string, id?: string): AnySignature => {
  const s: AnySignature = t.seen.si(label)
  return id === undefined ? s : s.set({ taskId: id })
}

const inline = (combo: Combo): boolean => combo.name.includes('inline')

export const kinds: readonly Kind[] = [
  {
    name: 'exception',
    state: states.FAILURE,
    error: InventoryError,
    signature: (t) => t.failStep.si(null, 'out of stock'),
  },
  {
    name: 'hard time limit',
    state: states.FAILURE,
    error: TimeLimitExceeded,
    // 3 s hard limit as a task option; it ignores every abort and would sleep on for 10 s.
    signature: (t) => t.opsHardLimited.si(10 * SECOND),
  },
  {
    name: 'soft time limit, not caught',
    state: states.FAILURE,
    error: SoftTimeLimitExceeded,
    signature: (t) => t.opsCooperative.si('x', 60).set({ softTimeLimit: 2 * SECOND }),
  },
  {
    name: 'worker lost',
    state: states.FAILURE,
    error: WorkerLostError,
    signature: (t) => t.fmCrashWorker.si(2 * SECOND),
    skip: (combo) => (inline(combo) ? "inline runs tasks in the engine's own thread: there is no worker to lose" : undefined),
  },
  {
    name: 'revoked while queued',
    state: states.REVOKED,
    error: TaskRevokedError,
    reason: 'revoked',
    neverStarts: true,
    signature: (t) => step(t, 'x').set({ countdown: 10 * SECOND }),
    act: (h) => h.app.control.revoke(ids.x),
  },
  {
    name: 'terminated while running',
    state: states.REVOKED,
    error: TaskRevokedError,
    reason: 'terminated',
    signature: (t) => t.opsCooperative.si('x', 60),
    act: (h) => h.app.control.revoke(ids.x, { terminate: true }),
  },
  {
    name: 'expired',
    state: states.REVOKED,
    error: TaskRevokedError,
    reason: 'expired',
    neverStarts: true,
    // Due at 2 s, expired at 1 s: it is never started.
    signature: (t) => step(t, 'x').set({ countdown: 2 * SECOND, expires: SECOND }),
  },
  {
    name: 'Reject without requeue',
    state: states.FAILURE,
    error: Reject,
    signature: (t) => t.opsReject.si('x', false),
  },
  {
    name: 'failed write of the outcome',
    state: states.FAILURE,
    error: StorageError,
    // The run succeeds; the storage refuses the write of its outcome once (Celery's tracer
    // then stores the backend's exception as the task's failure).
    signature: (t) => step(t, 'x'),
    storage: (inner) => failingOnce(inner, (m) => m.op === 'put' && m.ns === 'results' && m.key === ids.x && stateOf(m.value) === states.SUCCESS),
  },
]

export const positions: readonly Position[] = [
  {
    name: 'plain task',
    build: (_t, x, errback) => x.linkError(errback),
    handle: ids.x,
    later: [],
  },
  {
    name: 'chain step',
    build: (t, x, errback) => chain(step(t, 'before'), x, step(t, 'later-1', ids.later1), step(t, 'later-2', ids.later2)).linkError(errback),
    handle: ids.later2,
    later: [ids.later1, ids.later2],
  },
  {
    name: 'chord header member',
    build: (t, x, errback) => chord([step(t, 'h0'), x, step(t, 'h2')], step(t, 'body', ids.body)).linkError(errback),
    handle: ids.body,
    later: [],
    chord: { body: ids.body, after: [] },
  },
  {
    name: 'chain step inside a chord header',
    build: (t, x, errback) => chord([step(t, 'h0'), chain(x, step(t, 'later-1', ids.later1))], step(t, 'body', ids.body)).linkError(errback),
    handle: ids.body,
    later: [ids.later1],
    chord: { body: ids.body, after: [] },
  },
  {
    name: 'group inside a chain',
    // A group followed by a task in a chain is a chord (DESIGN §4): `body` is its body.
    build: (t, x, errback) => chain(step(t, 'before'), group([step(t, 'g0'), x]), step(t, 'body', ids.body), step(t, 'tail', ids.tail)).linkError(errback),
    handle: ids.tail,
    later: [],
    chord: { body: ids.body, after: [ids.tail] },
  },
  {
    name: 'chord body',
    build: (t, x, errback) => chord([step(t, 'h0'), step(t, 'h1')], x).linkError(errback),
    handle: ids.x,
    later: [],
  },
]

/** What one task of a cell must be stored as, and the error its `get()` rejects with. */
export interface Expected {
  readonly state: State
  readonly error?: ErrorClass
  /** A `TaskRevokedError`'s reason. */
  readonly reason?: string
  /** The class of that error's `cause` (a chord's `ChordError`). */
  readonly cause?: ErrorClass
}

/** Every task of the cell whose outcome the user can see, by id. */
export function expectedResults(kind: Kind, position: Position): Map<string, Expected> {
  const fails = kind.state === states.FAILURE
  const out = new Map<string, Expected>([[ids.x, { state: kind.state, error: kind.error, reason: kind.reason }]])
  for (const id of position.later) out.set(id, fails ? { state: states.FAILURE, error: kind.error } : { state: states.PENDING })
  if (position.chord !== undefined) {
    for (const id of [position.chord.body, ...position.chord.after]) out.set(id, { state: states.FAILURE, error: ChordError, cause: kind.error })
  }
  return out
}

/** The ids the user's errback must run with, once each: the chord body's, or the failed run's. */
export function expectedErrbacks(kind: Kind, position: Position): string[] {
  if (position.chord !== undefined) return [position.chord.body]
  return kind.state === states.FAILURE ? [ids.x] : []
}

/** The labels of tasks that must never run (they log `ran <label>`). */
export function neverRun(kind: Kind, position: Position): string[] {
  const labels = position.later.map((id) => id.slice('fm-'.length))
  if (position.chord !== undefined) labels.push('body', ...position.chord.after.map((id) => id.slice('fm-'.length)))
  if (kind.neverStarts === true) labels.push('x')
  return labels
}

function stateOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { state?: unknown }).state : undefined
}

/**
 * `inner`, whose first write (or transact step) holding a mutation that `matches` fails, as a
 * storage that lost its disk or quota would: nothing of that call is written. Later calls pass.
 */
function failingOnce(inner: Storage, matches: (m: Mutation) => boolean): Storage {
  let armed = true
  const trips = (mutations: readonly Mutation[]): boolean => {
    if (!armed || !mutations.some(matches)) return false
    armed = false
    return true
  }
  const injected = (): Error => new Error('injected: the storage refused the write')
  const storage: Storage = {
    name: inner.name,
    capabilities: inner.capabilities,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (ns, key) => inner.get(ns, key),
    entries: (ns) => inner.entries(ns),
    write: (mutations) => (trips(mutations) ? Promise.reject(injected()) : inner.write(mutations)),
    transact: (keys, step) =>
      inner.transact(keys, (values) => {
        const out = step(values)
        // The contract: a step that throws writes nothing and the call rejects.
        if (trips(out.mutations)) throw injected()
        return out
      }),
  }
  const watch = inner.watch?.bind(inner)
  return watch === undefined ? storage : { ...storage, watch }
}
