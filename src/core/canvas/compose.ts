/** The canvas makers: `chain()`, `group()`, `chord()`, and `task.chunks()`'s group. */
import { ConfigError } from '../model/errors.js'
import { checkIterable, checkWholeNumber } from '../model/validate.js'
import { Chain, Chord, Group, checkSignature } from './signature.js'
import type { AnySignature, CheckChain, Fits, HandleOf, MissingOf, ResultOf } from './signature.js'

type Last<S extends readonly unknown[]> = S extends readonly [...unknown[], infer L] ? L : never

/**
 * What a member adds to the list of a group or a chord header: its result, or for a group the
 * results of its members, which are flattened in (Celery's `group._prepared`).
 */
type MemberResult<S> = S extends { readonly kind: 'group' } ? (ResultOf<S> extends Array<infer R> ? R : unknown) : ResultOf<S>

/**
 * Runs signatures one after another, each result prepended to the next step's args. The types
 * check that each step accepts the previous result.
 *
 * @example
 * const r = await chain(add.s(2, 2), add.s(4), add.s(8)).delay()
 * await r.get() // 16
 */
export function chain<S extends [AnySignature, ...AnySignature[]]>(...steps: S & CheckChain<S>): Chain<MissingOf<S[0]>, ResultOf<Last<S>>, HandleOf<Last<S>>> {
  const list = steps as readonly AnySignature[]
  if (list.length === 0) throw new ConfigError('chain() needs at least one signature')
  for (let i = 0; i < list.length; i++) checkSignature(list[i], `chain(): step ${String(i + 1)}`)
  return new Chain(list)
}

/**
 * Runs signatures in parallel. `get()` gives their results in signature order; a group among
 * them is flattened in (its members' results take its place, as in Celery).
 *
 * @example
 * const r = await group([1, 2, 3].map((i) => add.s(i, i))).delay()
 * await r.get() // [2, 4, 6]
 */
export function group<S extends AnySignature>(signatures: Iterable<S>): Group<MissingOf<S>, MemberResult<S>> {
  const list = listOf(signatures, 'group(signatures)')
  for (let i = 0; i < list.length; i++) checkSignature(list[i], `group(): member ${String(i + 1)}`)
  return new Group(list)
}

/**
 * Runs `header` in parallel, then `body` once with the list of header results. The types check
 * that the body accepts that list (unless it is immutable).
 *
 * @example
 * const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()
 * await r.get() // 6
 */
export function chord<S extends AnySignature, B extends AnySignature>(
  header: Iterable<S>,
  body: B & Fits<B, unknown extends MemberResult<S> ? unknown : Array<MemberResult<S>>>,
): Chord<MissingOf<S>, ResultOf<B>> {
  const list = listOf(header, 'chord(header, body): header')
  for (let i = 0; i < list.length; i++) checkSignature(list[i], `chord(): header task ${String(i + 1)}`)
  checkSignature(body, 'chord(): body')
  return new Chord(list, body)
}

/** The items of an iterable of signatures; ConfigError for something that is not iterable (a lone signature, null). */
function listOf<S>(items: Iterable<S>, where: string): S[] {
  if (items === null || typeof items !== 'object' || typeof (items as Partial<Iterable<S>>)[Symbol.iterator] !== 'function') {
    throw new ConfigError(`${where} must be an array (or iterable) of signatures, got ${items === null ? 'null' : typeof items}`)
  }
  return [...items]
}

/**
 * `task.chunks(items, size)`: a group of `task.si(slice)`, one per slice of at most `size` items.
 * Throws ConfigError for items that are not an iterable object (a string would be split into its
 * characters) or a size that is not a whole number >= 1.
 */
export function chunks(task: { readonly name: string; si(...args: unknown[]): AnySignature }, items: Iterable<unknown>, size: number): Group {
  const where = `'${task.name}'.chunks(items, size)`
  const all = [...checkIterable(items, `${where}: items`, 'items')]
  checkWholeNumber(size, `${where}: size`, 1)
  const sigs: AnySignature[] = []
  for (let i = 0; i < all.length; i += size) sigs.push(task.si(all.slice(i, i + size)))
  return new Group(sigs)
}
