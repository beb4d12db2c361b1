/**
 * How one committed call (a list of mutations) is written inside a journal flush frame, and
 * replayed from it. A flush frame's payload is a JSON array of calls.
 *
 * A call is written as one flat array of tuples: `[1, ns, key, value]` for a put, `[0, ns, key]`
 * for a delete, `[2, ns, key]` for a put of `undefined` (which JSON cannot spell), and
 * `[3, ns, value]` for a put whose value is a plain object whose own `id` is the key (the core's
 * messages and results; keyed-by-id.ts): the key is read back as `value.id`. Journals
 * before it wrote each call as an array of mutation objects (`[{"op":"put","ns":...}]`); such
 * calls still replay, in the same journal as tuple calls (a journal is appended to across
 * versions). A call is never empty, so its first element tells the two apart.
 *
 * Why tuples: replaying a journal of a million calls spent most of its time building the
 * mutation objects and collecting them; the tuples are a third less JSON to parse and leave
 * nothing but the stored values behind.
 *
 * Journal version 3 adds bare records: a call that is one put keyed by id (the commonest call,
 * one message sent) is written as its value alone, `{...}` instead of `[[3, ns, {...}]]`, and a
 * string element of the frame names the namespace of the bare records after it (written once per
 * run of them). Replaying a million one-put calls built a million 3-element arrays and
 * internalized the namespace's name a million times, and a value that is an element of the
 * frame itself parses faster than one inside its own small array (NOTES.md, "Recovery time").
 *
 * Journal version 4 adds patches: `[4, ns, key, changes]` for a put whose value is the record the
 * key holds with `changes` over it (Mutation's `base` and `changes`: the engine's lease, a stored
 * message with `leased: true`), replayed as `{ ...held, ...changes }`. The lease wrote the whole
 * message again, ~35% of a durable task's journal bytes and JSON. A patch of a key that holds
 * nothing replays as nothing: only a call queued before a compaction and written after it into
 * the next journal meets a snapshot that already holds its effect and every later call's (the
 * record's delete among them), and those calls follow it in that journal.
 */
import { StorageError } from '../../core/model/errors.js'
import type { NamespaceRecords, Records } from '../records.js'
import { NAMESPACES } from '../types.js'
import type { Mutation, Namespace } from '../types.js'
import { idOf, keyedById } from './keyed-by-id.js'
import { RecordMap } from './record-map.js'

const DELETE = 0
const PUT = 1
const PUT_UNDEFINED = 2
const PUT_BY_ID = 3
const PATCH = 4

/** The record a key holds as a call is made (file storage's records): a patch is written only over it. */
export type Held = (ns: Namespace, key: string) => unknown

/**
 * The namespace of a call a version 3 journal writes bare (one put keyed by its value's id), or
 * undefined: such a call's JSON is then {@link encodeBare}'s.
 */
export function bareNamespace(mutations: readonly Mutation[]): Namespace | undefined {
  if (mutations.length !== 1) return undefined
  const m = mutations[0]!
  return m.op === 'put' && keyedById(m.key, m.value) ? m.ns : undefined
}

/** A bare call's JSON: the value of its one put (see {@link bareNamespace}). */
export function encodeBare(mutations: readonly Mutation[]): string {
  return JSON.stringify((mutations[0] as { value: unknown }).value)
}

/**
 * One call's JSON, as it goes into a flush frame's array. Given `held` (a version 4 journal), a
 * put with a `base` that the key holds is written as a patch of its `changes`, unless an earlier
 * mutation of the call is on that key (the patch would replay over that one's value; a lease's
 * call has none: each run's id is its own).
 */
export function encodeCall(mutations: readonly Mutation[], held?: Held): string {
  const flat: unknown[] = []
  // The keys of the mutations before, once a patch is possible (in any namespace: a key met in
  // another one only costs a patch). A Set: comparing each patch's key with every key before it
  // was ~2.5% of a durable task's instructions (a lease's call holds 2 mutations a run).
  let before: Set<string> | undefined
  for (let i = 0; i < mutations.length; i++) {
    const m = mutations[i]!
    if (m.op === 'delete') flat.push(DELETE, m.ns, m.key)
    else if (m.value === undefined) flat.push(PUT_UNDEFINED, m.ns, m.key)
    else if (
      held !== undefined &&
      m.changes !== undefined &&
      m.base !== undefined &&
      held(m.ns, m.key) === m.base &&
      !(before ??= keysBefore(mutations, i)).has(m.key)
    ) {
      flat.push(PATCH, m.ns, m.key, m.changes)
    } else if (keyedById(m.key, m.value)) flat.push(PUT_BY_ID, m.ns, m.value)
    else flat.push(PUT, m.ns, m.key, m.value)
    before?.add(m.key)
  }
  return JSON.stringify(flat)
}

function keysBefore(mutations: readonly Mutation[], at: number): Set<string> {
  const keys = new Set<string>()
  for (let i = 0; i < at; i++) keys.add(mutations[i]!.key)
  return keys
}

/**
 * Applies a call read back from a frame. An unknown namespace or op throws StorageError,
 * possibly after earlier mutations of the call applied: recovery then fails as a whole and its
 * records are dropped, so no partial state is ever seen.
 */
function replayCall(records: Records, call: readonly unknown[]): void {
  if (typeof call[0] !== 'number') return records.apply(call as Mutation[])
  // Straight into the maps: building a Mutation per tuple is the cost this format avoids.
  for (let i = 0; i < call.length; ) {
    const op = call[i]
    const map = records.map(call[i + 1] as Namespace)
    if (op === PUT_BY_ID) {
      const value = call[i + 2]
      map.set(keyOf(value), value)
      i += 3
      continue
    }
    const key = call[i + 2] as string
    if (op === PUT) map.set(key, call[i + 3])
    else if (op === DELETE) map.delete(key)
    else if (op === PUT_UNDEFINED) map.set(key, undefined)
    else if (op === PATCH) {
      const held = map.get(key)
      if (held !== undefined) map.set(key, patched(held, call[i + 3]))
    } else throw unknownOp(op)
    i += op === PUT || op === PATCH ? 4 : 3
  }
}

/** A patch's record: what the key held with the changes over it; changes that are no object are damage. */
function patched(held: unknown, changes: unknown): unknown {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes) || typeof held !== 'object' || held === null) {
    throw new StorageError('A journal patch holds no object of changes, or patches no record: the journal is damaged')
  }
  return { ...held, ...changes }
}

/**
 * Whether the elements of a flush frame from `from` on are all items a replay can apply: calls
 * (arrays), and in a version 3 journal (`bare`) namespace names (a string naming none is damage
 * too) and, after one, bare records (an object whose `id` is a string). Checked before any item
 * applies, so a damaged frame adds nothing to what the intact frames before it left.
 */
export function intactItems(items: readonly unknown[], from: number, bare: boolean): boolean {
  let named = false
  for (let i = from; i < items.length; i++) {
    const item = items[i]
    if (Array.isArray(item)) continue
    if (!bare) return false
    if (typeof item === 'string') {
      if (!NAMESPACES.includes(item as Namespace)) return false
      named = true
    } else if (!named || idOf(item) === undefined) return false
  }
  return true
}

/**
 * Applies a flush frame's items from `from` on (checked by {@link intactItems}): calls, and bare
 * records into the namespace last named. A call's unknown namespace or op throws StorageError.
 */
export function replayItems(records: Records, items: readonly unknown[], from: number): void {
  // The namespace last named: it holds the bare records after it, across calls between them.
  let map: NamespaceRecords | undefined
  for (let i = from; i < items.length; ) {
    const item = items[i]
    if (Array.isArray(item)) replayCall(records, item)
    else if (typeof item === 'string') map = records.map(item as Namespace)
    else {
      // A run of bare records, put as one (RecordMap hashes them all first).
      let end = i + 1
      while (end < items.length && typeof items[end] === 'object' && !Array.isArray(items[end])) end++
      if (map instanceof RecordMap) map.setEachById(items, i, end)
      else for (let j = i; j < end; j++) map!.set((items[j] as { id: string }).id, items[j])
      i = end
      continue
    }
    i++
  }
}

/** A frame's items from `from` on as calls, a bare record as the `[3, ns, value]` call it stands for (for tests). */
export function itemCalls(items: readonly unknown[], from: number): unknown[][] {
  const calls: unknown[][] = []
  let ns: unknown
  for (let i = from; i < items.length; i++) {
    const item = items[i]
    if (Array.isArray(item)) calls.push(item)
    else if (typeof item === 'string') ns = item
    else calls.push([PUT_BY_ID, ns, item])
  }
  return calls
}

/** A call's mutation read back: a patch's value is its changes alone (the record it patches is not in the call). */
type DecodedMutation = Mutation | { readonly op: 'patch'; readonly ns: Namespace; readonly key: string; readonly changes: unknown }

/** A call read back as mutations (for tools and tests; replay does without them). */
export function decodeCall(call: readonly unknown[]): DecodedMutation[] {
  if (typeof call[0] !== 'number') return call as Mutation[]
  const mutations: DecodedMutation[] = []
  for (let i = 0; i < call.length; ) {
    const op = call[i]
    const ns = call[i + 1] as Namespace
    if (op === PUT_BY_ID) {
      mutations.push({ op: 'put', ns, key: keyOf(call[i + 2]), value: call[i + 2] })
      i += 3
      continue
    }
    const key = call[i + 2] as string
    if (op === PUT) mutations.push({ op: 'put', ns, key, value: call[i + 3] })
    else if (op === DELETE) mutations.push({ op: 'delete', ns, key })
    else if (op === PUT_UNDEFINED) mutations.push({ op: 'put', ns, key, value: undefined })
    else if (op === PATCH) mutations.push({ op: 'patch', ns, key, changes: call[i + 3] })
    else throw unknownOp(op)
    i += op === PUT || op === PATCH ? 4 : 3
  }
  return mutations
}

/** The key of a `[3, ns, value]` put: its value's `id`. */
function keyOf(value: unknown): string {
  const id = idOf(value)
  if (id === undefined) throw new StorageError("A journal put keyed by its value's id holds no string id: the journal is damaged")
  return id
}

function unknownOp(op: unknown): StorageError {
  return new StorageError(`A journal call holds an unknown operation ${JSON.stringify(op)}: written by a newer celeriac?`)
}
