/** Type tests: a chain whose steps do not fit does not compile; handles carry the result type. */
import { describe, expectTypeOf, it } from 'vitest'
import { Celeriac, chain, chord, group, signature } from '../../src/index.js'
import type { AsyncResult, EagerResult, GroupResult, Signature, Task } from '../../src/index.js'

const app = new Celeriac()
const add = app.task('types.add', (a: number, b: number) => a + b)
const mul = app.task('types.mul', (a: number, b: number) => a * b)
const upper = app.task('types.upper', (text: string) => text.toUpperCase())
const sum = app.task('types.sum', (values: number[]) => values.reduce((a, b) => a + b, 0))
const length = app.task('types.length', (text: string) => text.length)
const count = app.task('types.count', (values: unknown[]) => values.length)
const label = app.task('types.label', (previous: unknown, name: string) => `${name}: ${String(previous)}`)
const wide = app.task('types.wide', (value: number | string) => String(value))
const fetchPage = app.task('types.fetch', { bind: true, maxRetries: 3 }, async (self, url: string) => {
  expectTypeOf(self.request.retries).toEqualTypeOf<number>()
  return { url, status: 200 }
})

describe('tasks', () => {
  it('delay and applyAsync take the task arguments and give a typed handle', () => {
    expectTypeOf(add.delay).parameters.toEqualTypeOf<[number, number]>()
    expectTypeOf(add.delay(1, 2)).resolves.toEqualTypeOf<AsyncResult<number>>()
    expectTypeOf(fetchPage.delay('https://example.org')).resolves.toEqualTypeOf<AsyncResult<{ url: string; status: number }>>()
    expectTypeOf(add.apply([1, 2])).resolves.toEqualTypeOf<EagerResult<number>>()
    // @ts-expect-error a string where a number goes
    void add.delay(1, '2')
    // @ts-expect-error a missing argument
    void add.delay(1)
    // @ts-expect-error the bound self is not an argument
    void fetchPage.delay(undefined as unknown as Task, 'x')
  })
})

describe('chains', () => {
  it('chain(add.s(2, 2), mul.s(4)) compiles and its handle has the last step type', async () => {
    const r = await chain(add.s(2, 2), mul.s(4)).delay()
    expectTypeOf(r).toEqualTypeOf<AsyncResult<number>>()
    expectTypeOf(await r.get()).toEqualTypeOf<number>()
    const text = await chain(add.s(1, 2), mul.s(3), add.s(1)).delay()
    expectTypeOf(text.get()).resolves.toEqualTypeOf<number>()
    const mixed = await chain(upper.s('a'), length.s()).delay()
    expectTypeOf(mixed.get()).resolves.toEqualTypeOf<number>()
  })

  it('a step that expects a string after a step that gives a number does not compile', () => {
    // @ts-expect-error upper expects a string, add gives a number
    void chain(add.s(2, 2), upper.s())
  })

  it('a signature made by name has no result type: the step after it is not checked', () => {
    expectTypeOf(chain(signature('by.name'), add.s(1))).not.toBeNever()
    expectTypeOf(signature('by.name').pipe(upper.s())).not.toBeNever()
    expectTypeOf(chord([signature('by.name')], sum.s())).not.toBeNever()
    expectTypeOf(chain(add.s(1, 2), label.s('x'), wide.s())).not.toBeNever()
  })

  it('si ignores the parent result, so any step may follow', async () => {
    const r = await chain(add.s(2, 2), upper.si('done')).delay()
    expectTypeOf(r.get()).resolves.toEqualTypeOf<string>()
  })

  it('pipe checks the same way', () => {
    expectTypeOf(add.s(1, 2).pipe(mul.s(3))).toEqualTypeOf<Signature<[], number, AsyncResult<number>>>()
    expectTypeOf(add.s(1, 2).pipe(upper.si('x'))).toEqualTypeOf<Signature<[], string, AsyncResult<string>>>()
    // A step that takes any value, or a wider type, accepts the number.
    expectTypeOf(add.s(1, 2).pipe(label.s('x'))).toEqualTypeOf<Signature<[], string, AsyncResult<string>>>()
    expectTypeOf(add.s(1, 2).pipe(wide.s())).not.toBeNever()
    expectTypeOf(group([add.s(1, 1)]).pipe(sum.s())).toEqualTypeOf<Signature<[], number, AsyncResult<number>>>()
    // @ts-expect-error upper expects a string, add gives a number
    void add.s(1, 2).pipe(upper.s())
    // @ts-expect-error a group gives a list, upper expects a string
    void group([add.s(1, 1)]).pipe(upper.s())
  })
})

describe('groups and chords', () => {
  it('a group gives a GroupResult of its members', async () => {
    const g = await group([add.s(1, 1), add.s(2, 2)]).delay()
    expectTypeOf(g).toEqualTypeOf<GroupResult<number[]>>()
    expectTypeOf(g.get()).resolves.toEqualTypeOf<number[]>()
  })

  it('a chord body receives the list of header results', async () => {
    const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()
    expectTypeOf(r.get()).resolves.toEqualTypeOf<number>()
    const texts = await chord([upper.s('a'), upper.s('b')], count.s()).delay()
    expectTypeOf(texts.get()).resolves.toEqualTypeOf<number>()
    expectTypeOf(chord([add.s(1, 1)], label.s('sum'))).not.toBeNever()
    expectTypeOf(chord([], sum.s())).not.toBeNever()
    expectTypeOf(chord([add.s(1, 1)], upper.si('immutable'))).not.toBeNever()
    expectTypeOf(chord([add.s(1, 1)], chain(sum.s(), mul.s(2)))).not.toBeNever()
    expectTypeOf(chord([add.s(1, 1)], signature<string>('by.name'))).not.toBeNever()
    expectTypeOf(group([add.s(1, 1), add.s(2, 2)]).pipe(sum.s())).not.toBeNever()
  })

  it('a group inside a group or a chord header is flattened into it (Celery): its members add their results', async () => {
    const g = await group([group([add.s(1, 1), add.s(2, 2)]), upper.s('a')]).delay()
    expectTypeOf(g.get()).resolves.toEqualTypeOf<Array<number | string>>()
    expectTypeOf(chord([group([add.s(1, 1)]), add.s(2, 2)], sum.s())).not.toBeNever()
    expectTypeOf(chord([group([add.s(1, 1), add.s(2, 2)])], sum.s())).not.toBeNever()
    // @ts-expect-error sum expects number[], the flattened header gives string[]
    void chord([group([upper.s('a')])], sum.s())
  })

  it('a chord body that does not take the list of header results does not compile', () => {
    // @ts-expect-error upper expects a string, the header gives number[]
    void chord([add.s(1, 1)], upper.s())
    // @ts-expect-error sum expects number[], the header gives string[]
    void chord([upper.s('a'), upper.s('b')], sum.s())
  })
})
