/** The serializer on every path: values round-trip through a task, bad values fail at the send. */
import { afterEach, expect, it } from 'vitest'
import { SerializationError, states } from '../../src/index.js'
import { forEachCombo, setup } from './setup.js'
import type { Harness } from './setup.js'

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  length(): number {
    return Math.hypot(this.x, this.y)
  }
}

async function sendError(send: () => Promise<unknown>): Promise<SerializationError> {
  const error = await send().then(
    () => expect.unreachable('the send should have failed'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SerializationError)
  return error as SerializationError
}

forEachCombo('serialization', (combo) => {
  let h: Harness
  afterEach(async () => h.stop())

  it('Date, BigInt, Map, Set, Uint8Array and undefined arrive as themselves, nested', async () => {
    h = await setup(combo)
    const value = {
      when: new Date('2024-02-29T12:00:00.000Z'),
      big: 2n ** 70n,
      byName: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set(['x', 'y'])],
      ]),
      bytes: new Uint8Array([0, 1, 254, 255]),
      nothing: undefined,
      list: [undefined, null, -0, 1.5, 'text', { deep: [new Date(0)] }],
    }
    const back = (await (await h.tasks.coreEcho.delay(value)).get()) as typeof value
    expect(back).toEqual(value)
    expect(back.when).toBeInstanceOf(Date)
    expect(back.big).toBe(2n ** 70n)
    expect(back.byName).toBeInstanceOf(Map)
    expect(back.byName.get(2)).toBeInstanceOf(Set)
    expect(back.bytes).toBeInstanceOf(Uint8Array)
    expect(Object.hasOwn(back, 'nothing')).toBe(true)
    expect(back.list[0]).toBeUndefined()
  })

  it('the task receives a copy: changing the sent object afterwards changes nothing', async () => {
    h = await setup(combo)
    const sent = { items: [1, 2, 3] }
    const r = await h.tasks.coreEcho.applyAsync([sent], { countdown: 10 })
    sent.items.push(4)
    await h.clock.advance(10)
    expect(await r.get()).toEqual({ items: [1, 2, 3] })
  })

  it('a function, a symbol, a class instance with methods and a cycle fail at delay() with the path', async () => {
    h = await setup(combo)
    const fn = await sendError(() => h.tasks.coreEcho.delay({ user: { onSave: () => 1 } }))
    expect(fn.path).toBe('args[0].user.onSave')
    expect(fn.message).toContain('args[0].user.onSave')
    const sym = await sendError(() => h.tasks.coreEcho.delay([1, Symbol('s')]))
    expect(sym.message).toContain('args[0][1]')
    const instance = await sendError(() => h.tasks.coreEcho.delay({ at: new Point(3, 4) }))
    expect(instance.message).toContain('args[0].at')
    expect(instance.message).toContain('Point')
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const cycle = await sendError(() => h.tasks.coreEcho.delay(cyclic))
    expect(cycle.message).toContain('args[0].self')
    expect(cycle.code).toBe('SERIALIZATION')
  })

  it('a failed send stores nothing and the engine keeps working', async () => {
    h = await setup(combo)
    await sendError(() => h.tasks.coreEcho.applyAsync([() => 0], { taskId: 'bad-1' }))
    expect(await h.app.AsyncResult('bad-1').state()).toBe(states.PENDING)
    expect(await h.app.inspect.scheduled()).toEqual([])
    const r = await h.tasks.coreEcho.applyAsync(['fine'], { taskId: 'bad-1' })
    expect(await r.get()).toBe('fine')
  })

  it('a bad value in headers fails the send too', async () => {
    h = await setup(combo)
    const error = await sendError(() => h.tasks.coreEcho.applyAsync([1], { headers: { callback: () => 0 } }))
    expect(error.message).toContain('headers.callback')
  })

  it('keys like __proto__ and constructor stay plain data and never pollute prototypes', async () => {
    h = await setup(combo)
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}') as Record<string, unknown>
    const back = (await (await h.tasks.coreEcho.delay(hostile)).get()) as Record<string, unknown>
    expect(Object.hasOwn(back, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(back.ok).toBe(1)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a result that cannot be serialized fails the task with SerializationError', async () => {
    h = await setup(combo)
    const r = await h.tasks.coreBadResult.delay()
    const error = await r.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SerializationError)
    expect((error as SerializationError).message).toContain('render')
    expect(await r.state()).toBe(states.FAILURE)
    expect(await (await h.tasks.coreEcho.delay('after')).get()).toBe('after')
  })
})
