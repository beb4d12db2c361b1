import { describe, expect, it } from 'vitest'
import { registerErrorClass } from '../../src/core/model/error-registry.js'
import { CeleriacError, ChordError, NotRegistered, SerializationError, TaskError } from '../../src/core/model/errors.js'
import { encode, encodeError } from '../../src/core/serializer/encode.js'
import { decode, decodeError } from '../../src/core/serializer/decode.js'
import type { Encoded } from '../../src/core/model/json.js'

/** Encodes, goes through real JSON text (as storage and postMessage-to-file would), decodes. */
function trip<T>(value: T): T {
  const tree = encode(value)
  return decode<T>(JSON.parse(JSON.stringify(tree)) as Encoded)
}

/** The SerializationError `encode` throws for `value`. */
function failure(value: unknown, root?: string): SerializationError {
  try {
    encode(value, root)
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError)
    return error as SerializationError
  }
  throw new Error('encode did not throw')
}

describe('encode/decode round trips', () => {
  it('keeps JSON values as they are', () => {
    const value = { a: 1, b: 'x', c: true, d: null, e: [1, 'two', false, null], f: { g: { h: 1.5 } } }
    expect(encode(value)).toEqual(value)
    expect(trip(value)).toEqual(value)
    expect(trip('s')).toBe('s')
    expect(trip(0)).toBe(0)
    expect(trip(null)).toBe(null)
  })

  it('copies a small array of primitives', () => {
    const args = [2, 3]
    const tree = encode(args)
    expect(tree).toEqual([2, 3])
    expect(tree).not.toBe(args)
  })

  it('keeps undefined as a value, an array element and an object property', () => {
    expect(encode(undefined)).toEqual({ $: 'undefined' })
    expect(trip(undefined)).toBeUndefined()
    const array = trip([1, undefined, 3])
    expect(array).toEqual([1, undefined, 3])
    expect(array.length).toBe(3)
    const object = trip({ a: undefined, b: 1 })
    expect(Object.keys(object)).toEqual(['a', 'b'])
    expect(Object.hasOwn(object, 'a')).toBe(true)
    expect(object.a).toBeUndefined()
  })

  it('turns array holes into undefined', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what this test is about
    const decoded = trip([1, , 3])
    expect(decoded.length).toBe(3)
    expect(1 in decoded).toBe(true)
    expect(decoded[1]).toBeUndefined()
  })

  it('keeps NaN, Infinity, -Infinity and -0', () => {
    expect(encode(Number.NaN)).toEqual({ $: 'Number', v: 'NaN' })
    expect(encode(-0)).toEqual({ $: 'Number', v: '-0' })
    expect(trip(Number.NaN)).toBeNaN()
    expect(trip(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
    expect(trip(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY)
    expect(Object.is(trip(-0), -0)).toBe(true)
    const [a, b] = trip([-0, 0])
    expect(Object.is(a, -0)).toBe(true)
    expect(Object.is(b, 0)).toBe(true)
  })

  it('keeps dates, invalid dates included', () => {
    const date = new Date('2024-05-06T07:08:09.010Z')
    expect(encode(date)).toEqual({ $: 'Date', v: date.getTime() })
    const decoded = trip(date)
    expect(decoded).toBeInstanceOf(Date)
    expect(decoded).not.toBe(date)
    expect(decoded.getTime()).toBe(date.getTime())
    expect(encode(new Date(Number.NaN))).toEqual({ $: 'Date', v: null })
    const invalid = trip(new Date('not a date'))
    expect(invalid).toBeInstanceOf(Date)
    expect(invalid.getTime()).toBeNaN()
  })

  it('keeps BigInts', () => {
    const big = 2n ** 100n + 7n
    expect(encode(big)).toEqual({ $: 'BigInt', v: big.toString() })
    expect(trip(big)).toBe(big)
    expect(trip(-12n)).toBe(-12n)
    expect(trip(0n)).toBe(0n)
  })

  it('keeps Maps, with object keys and nested values', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [{ id: 1 }, new Set([1, 2])],
      [2n, new Date(5)],
    ])
    const decoded = trip(map)
    expect(decoded).toBeInstanceOf(Map)
    expect([...decoded.entries()]).toEqual([
      ['a', 1],
      [{ id: 1 }, new Set([1, 2])],
      [2n, new Date(5)],
    ])
  })

  it('keeps Sets', () => {
    const decoded = trip(new Set(['x', undefined, { y: [1] }]))
    expect(decoded).toBeInstanceOf(Set)
    expect([...decoded]).toEqual(['x', undefined, { y: [1] }])
  })

  it('keeps Uint8Arrays: empty, every length mod 3, all 256 byte values', () => {
    const empty = trip(new Uint8Array(0))
    expect(empty).toBeInstanceOf(Uint8Array)
    expect(empty.length).toBe(0)
    const all = new Uint8Array(256)
    for (let i = 0; i < 256; i++) all[i] = i
    expect(trip(all)).toEqual(all)
    for (const n of [1, 2, 3, 4, 5]) {
      const bytes = all.subarray(250, 250 + n).slice()
      expect(trip(bytes)).toEqual(bytes)
    }
    // The standard alphabet with padding, as btoa gives.
    expect(encode(new Uint8Array([251, 255, 0, 1]))).toEqual({ $: 'Uint8Array', v: btoa(String.fromCharCode(251, 255, 0, 1)) })
    // Longer than one String.fromCharCode chunk.
    const big = new Uint8Array(10_000)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255
    expect(trip(big)).toEqual(big)
  })

  it('escapes a plain object that has its own "$" key', () => {
    const value = { $: 1, v: 'x' }
    expect(encode(value)).toEqual({ $: 'Object', v: { $: 1, v: 'x' } })
    expect(trip(value)).toEqual(value)
    const lookalike = { $: 'Date', v: 5 }
    const decoded = trip(lookalike)
    expect(decoded).toEqual(lookalike)
    expect(decoded).not.toBeInstanceOf(Date)
    expect(trip({ outer: { $: 'undefined' } })).toEqual({ outer: { $: 'undefined' } })
  })

  it('keeps deep nested structures', () => {
    const value = {
      users: [{ id: 1, tags: new Set(['a']), seen: new Date(1), meta: new Map([['k', [1n, undefined, Number.NaN]]]) }],
      blob: new Uint8Array([1, 2, 3]),
      'weird key': { nested: [[[-0]]] },
    }
    expect(trip(value)).toEqual(value)
  })

  it('encodes the same object twice when it appears twice (a DAG, not a cycle)', () => {
    const shared = { n: 1 }
    const decoded = trip({ a: shared, b: shared, list: [shared, shared] })
    expect(decoded).toEqual({ a: { n: 1 }, b: { n: 1 }, list: [{ n: 1 }, { n: 1 }] })
    expect(decoded.a).not.toBe(decoded.b)
  })

  it('encodes a data-only class instance as a plain object', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    const decoded = trip(new Point(1, 2))
    expect(decoded).toEqual({ x: 1, y: 2 })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
  })

  it('encodes null-prototype objects as plain objects and ignores symbol keys', () => {
    const object = Object.create(null) as Record<string | symbol, unknown>
    object.a = 1
    object[Symbol('hidden')] = 2
    expect(encode(object)).toEqual({ a: 1 })
  })

  it('makes a tree that really is JSON and shares nothing with the input', () => {
    const input = { list: [1, { deep: 'x' }], map: new Map([['k', { v: 1 }]]), bytes: new Uint8Array([1]), date: new Date(3) }
    const tree = encode(input)
    expect(JSON.parse(JSON.stringify(tree))).toEqual(tree)
    input.list.push(2)
    ;(input.list[1] as { deep: string }).deep = 'changed'
    input.map.get('k')!.v = 2
    input.bytes[0] = 9
    input.date.setTime(4)
    expect(decode(tree)).toEqual({ list: [1, { deep: 'x' }], map: new Map([['k', { v: 1 }]]), bytes: new Uint8Array([1]), date: new Date(3) })
    const decoded = decode<typeof input>(tree)
    expect(decode(tree)).not.toBe(decoded)
    decoded.list.push(3)
    expect(decode<typeof input>(tree).list).toHaveLength(2)
  })
})

describe('encode failures name the path', () => {
  it('a function', () => {
    const error = failure([{ callback: () => 1 }], 'args')
    expect(error.path).toBe('args[0].callback')
    expect(error.message).toBe('Cannot serialize a function at args[0].callback: pass plain data (IDs, not objects)')
    expect(error.code).toBe('SERIALIZATION')
  })

  it('a function at the root', () => {
    expect(failure(() => 1).path).toBe('value')
    expect(failure(() => 1, 'result').path).toBe('result')
  })

  it('a symbol', () => {
    const error = failure({ kind: Symbol('k') }, 'meta')
    expect(error.path).toBe('meta.kind')
    expect(error.message).toContain('symbol')
  })

  it('a class instance with methods', () => {
    class Foo {
      greet(): string {
        return 'hi'
      }
    }
    const error = failure([{ user: new Foo() }], 'args')
    expect(error.path).toBe('args[0].user')
    expect(error.message).toBe(
      'Cannot serialize an instance of Foo at args[0].user: class instances with methods do not survive the trip; pass plain data (IDs, not objects)',
    )
  })

  it('a class instance with only an accessor, or an inherited method', () => {
    class WithGetter {
      get x(): number {
        return 1
      }
    }
    class Base {
      run(): void {}
    }
    class Derived extends Base {}
    expect(failure({ a: new WithGetter() }).path).toBe('value.a')
    expect(failure({ b: new Derived() }).path).toBe('value.b')
  })

  it('a cycle through an object and an array', () => {
    const node: { name: string; children: unknown[] } = { name: 'root', children: [] }
    node.children.push({ parent: node })
    const error = failure(node, 'args')
    expect(error.path).toBe('args.children[0].parent')
    expect(error.message).toContain('contains itself')
    const array: unknown[] = [1]
    array.push(array)
    expect(failure(array, 'args').path).toBe('args[1]')
  })

  it('a cycle through a Map and a Set', () => {
    const map = new Map<string, unknown>()
    map.set('self', { map })
    expect(failure({ m: map }, 'args').path).toBe('args.m<Map value 0>.map')
    const keyed = new Map<unknown, unknown>([['a', 1]])
    keyed.set(keyed, 2)
    expect(failure(keyed, 'args').path).toBe('args<Map key 1>')
    const set = new Set<unknown>()
    set.add(1).add(2).add([set])
    expect(failure(set, 'args').path).toBe('args<Set item 2>[0]')
  })

  it('binary types other than Uint8Array', () => {
    const error = failure({ samples: new Int16Array(2) }, 'args')
    expect(error.path).toBe('args.samples')
    expect(error.message).toContain('Int16Array')
    expect(error.message).toContain('only Uint8Array')
    expect(failure(new ArrayBuffer(1)).message).toContain('only Uint8Array')
    expect(failure(new DataView(new ArrayBuffer(1))).message).toContain('only Uint8Array')
    expect(failure(new Uint8ClampedArray(1)).message).toContain('only Uint8Array')
  })

  it('Promises, WeakMaps and WeakSets', () => {
    const promise = Promise.resolve(1)
    expect(failure({ p: promise }).message).toBe('Cannot serialize a Promise at value.p: await it and pass its value')
    expect(failure(new WeakMap()).message).toContain('WeakMap')
    expect(failure(new WeakSet()).message).toContain('WeakSet')
  })

  it('quotes keys that are not identifiers', () => {
    expect(failure({ 'weird key': [0, { f: Symbol.iterator }] }, 'x').path).toBe('x["weird key"][1].f')
  })
})

describe('decoding never pollutes prototypes', () => {
  it('keeps __proto__, constructor and prototype as own data', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}') as Record<string, unknown>
    const decoded = decode<Record<string, unknown>>(parsed as Encoded)
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.keys(decoded)).toEqual(['__proto__', 'constructor', 'prototype'])
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
    expect(decoded.constructor).toEqual({ prototype: { polluted: true } })
  })

  it('round-trips such keys through encode and JSON', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":[1]}}') as Record<string, unknown>
    const decoded = trip(input)
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('keeps them inside escaped objects, Maps and errors', () => {
    const tree = JSON.parse('{"$":"Object","v":{"$":1,"__proto__":{"polluted":true}}}') as Encoded
    const decoded = decode<Record<string, unknown>>(tree)
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
    const error = decodeError(JSON.parse('{"$":"Error","v":{"name":"Error","message":"m","data":{"__proto__":{"polluted":true}}}}') as Encoded)
    expect(error).toBeInstanceOf(Error)
    expect(Object.getOwnPropertyDescriptor(error, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('decode of malformed data', () => {
  it('throws SerializationError for an unknown tag', () => {
    expect(() => decode({ $: 'Mystery', v: 1 })).toThrow(SerializationError)
    expect(() => decode([{ $: 'Mystery' }])).toThrow(/Mystery/)
  })

  it('throws SerializationError for a bad payload', () => {
    expect(() => decode({ $: 'BigInt', v: 'abc' })).toThrow(SerializationError)
    expect(() => decode({ $: 'Number', v: '12' })).toThrow(SerializationError)
    expect(() => decode({ $: 'Map', v: [[1]] })).toThrow(SerializationError)
    expect(() => decode({ $: 'Uint8Array', v: 'a$==' })).toThrow(SerializationError)
    expect(() => decode({ $: 'Date', v: 'today' })).toThrow(SerializationError)
  })
})

describe('errors', () => {
  it('keeps a built-in error class', () => {
    const decoded = trip(new TypeError('bad type'))
    expect(decoded).toBeInstanceOf(TypeError)
    expect(decoded.name).toBe('TypeError')
    expect(decoded.message).toBe('bad type')
    expect(decoded.stack).toContain('bad type')
    expect(Object.keys(decoded)).toEqual([])
    expect(Object.getOwnPropertyDescriptor(decoded, 'message')?.enumerable).toBe(false)
  })

  it('brings a registered custom class back as itself, with its own data', () => {
    class RateLimited extends Error {
      retryAfter: number
      constructor(message: string, retryAfter: number) {
        super(message)
        this.name = 'RateLimited'
        this.retryAfter = retryAfter
      }
    }
    registerErrorClass(RateLimited)
    const decoded = decodeError(JSON.parse(JSON.stringify(encodeError(new RateLimited('slow down', 30)))) as Encoded)
    expect(decoded).toBeInstanceOf(RateLimited)
    expect(decoded.name).toBe('RateLimited')
    expect(decoded.message).toBe('slow down')
    expect((decoded as RateLimited).retryAfter).toBe(30)
  })

  it('finds a registered class by constructor name when it does not set `name`', () => {
    class Quiet extends Error {}
    registerErrorClass(Quiet)
    const tree = encodeError(new Quiet('shh')) as { v: { name: string; className: string } }
    expect(tree.v.name).toBe('Error')
    expect(tree.v.className).toBe('Quiet')
    const decoded = decodeError(tree as unknown as Encoded)
    expect(decoded).toBeInstanceOf(Quiet)
    expect(decoded.name).toBe('Error')
  })

  it("keeps celeriac's errors when a minifier renames their classes (the name is a literal on the prototype)", () => {
    const original = Object.getOwnPropertyDescriptor(ChordError, 'name')!
    Object.defineProperty(ChordError, 'name', { value: 'q' })
    try {
      const error = new ChordError('chord failed', 'task-1')
      expect(error.name).toBe('ChordError')
      const tree = JSON.parse(JSON.stringify(encodeError(error))) as { v: { name: string; className?: string } }
      expect(tree.v.name).toBe('ChordError')
      expect(tree.v.className).toBeUndefined()
      const decoded = decodeError(tree as unknown as Encoded)
      expect(decoded).toBeInstanceOf(ChordError)
      expect(decoded.name).toBe('ChordError')
      expect((decoded as ChordError).taskId).toBe('task-1')
    } finally {
      Object.defineProperty(ChordError, 'name', original)
    }
  })

  it('finds a class named on its prototype by that name, whatever its function is called (two bundles minified apart)', () => {
    // The same class as two bundles (the app's, a worker's) would have it, minified to b and c.
    class b extends Error {
      static {
        b.prototype.name = 'InvoiceLocked'
      }
    }
    class c extends Error {
      static {
        c.prototype.name = 'InvoiceLocked'
      }
    }
    registerErrorClass(c)
    const tree = JSON.parse(JSON.stringify(encodeError(new b('locked')))) as { v: { name: string; className?: string } }
    expect(tree.v).toMatchObject({ name: 'InvoiceLocked', message: 'locked' })
    expect(tree.v.className).toBeUndefined()
    const decoded = decodeError(tree as unknown as Encoded)
    expect(decoded).toBeInstanceOf(c)
    expect(decoded.name).toBe('InvoiceLocked')
    expect(Object.keys(decoded)).toEqual([])
  })

  it('encodes an error whose prototype has a `name` accessor (DOMException)', () => {
    const tree = encodeError(new DOMException('stopped', 'AbortError')) as { v: { name: string; className?: string; message: string } }
    expect(tree.v).toMatchObject({ name: 'AbortError', className: 'DOMException', message: 'stopped' })
  })

  it('brings an unregistered class as TaskError with originalName', () => {
    class InvoiceDisputed extends Error {
      constructor(
        message: string,
        readonly amount: number,
      ) {
        super(message)
        this.name = 'InvoiceDisputed'
      }
    }
    const original = new InvoiceDisputed('card declined', 42)
    const decoded = decodeError(encodeError(original))
    expect(decoded).toBeInstanceOf(TaskError)
    const task = decoded as TaskError & { amount: number }
    expect(task.originalName).toBe('InvoiceDisputed')
    expect(task.message).toBe('card declined')
    expect(task.stack).toBe(original.stack)
    expect(task.amount).toBe(42)
    class NoName extends Error {}
    expect((decodeError(encodeError(new NoName('x'))) as TaskError).originalName).toBe('NoName')
  })

  it('keeps the code and data of celeriac errors', () => {
    const decoded = trip(new NotRegistered('no such task'))
    expect(decoded).toBeInstanceOf(NotRegistered)
    expect(decoded).toBeInstanceOf(CeleriacError)
    expect(decoded.code).toBe('NOT_REGISTERED')
    expect(decoded.name).toBe('NotRegistered')
    const serialization = trip(new SerializationError('bad', 'args[0]'))
    expect(serialization).toBeInstanceOf(SerializationError)
    expect(serialization.path).toBe('args[0]')
    expect(serialization.code).toBe('SERIALIZATION')
  })

  it('keeps cause chains', () => {
    const root = new RangeError('too far')
    const middle = new Error('middle', { cause: root })
    const top = new ChordError('chord failed', 'task-1', { cause: middle })
    const decoded = trip(top)
    expect(decoded).toBeInstanceOf(ChordError)
    expect(decoded.taskId).toBe('task-1')
    expect(decoded.code).toBe('CHORD_ERROR')
    const cause = decoded.cause as Error
    expect(cause).toBeInstanceOf(Error)
    expect(cause.message).toBe('middle')
    expect(cause.cause).toBeInstanceOf(RangeError)
    expect((cause.cause as Error).message).toBe('too far')
    expect(Object.getOwnPropertyDescriptor(decoded, 'cause')?.enumerable).toBe(false)
  })

  it('keeps a non-error cause as a value', () => {
    const decoded = trip(new Error('x', { cause: { status: 503 } }))
    expect(decoded.cause).toEqual({ status: 503 })
  })

  it('survives a cause chain that loops', () => {
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    ;(a as { cause?: unknown }).cause = b
    const decoded = decodeError(encodeError(a))
    expect(decoded.message).toBe('a')
    expect((decoded.cause as Error).message).toBe('b')
    expect(((decoded.cause as Error).cause as Error).message).toBe('a')
  })

  it('keeps the code of a system-like error even for an unknown class', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 })
    const decoded = trip(error) as Error & { code: string; errno: number }
    expect(decoded.code).toBe('ECONNREFUSED')
    expect(decoded.errno).toBe(-111)
  })

  it("keeps an AggregateError's errors", () => {
    const decoded = trip(new AggregateError([new TypeError('one'), new Error('two')], 'both'))
    expect(decoded).toBeInstanceOf(AggregateError)
    expect(decoded.errors).toHaveLength(2)
    expect(decoded.errors[0]).toBeInstanceOf(TypeError)
    expect((decoded.errors[1] as Error).message).toBe('two')
  })

  it('drops own properties that cannot be encoded instead of throwing', () => {
    const error = Object.assign(new Error('with junk'), { handler: () => 1, self: null as unknown, ok: 1 })
    error.self = error
    const decoded = decodeError(encodeError(error)) as Error & Record<string, unknown>
    expect(decoded.message).toBe('with junk')
    expect(decoded.ok).toBe(1)
    expect('handler' in decoded).toBe(false)
    expect('self' in decoded).toBe(false)
    // Inside encode too: an error is always encodable.
    expect(() => encode({ failure: error })).not.toThrow()
  })

  it('encodes thrown non-errors as error records, never throwing', () => {
    expect(decodeError(encodeError('plain string')).message).toBe('plain string')
    expect(decodeError(encodeError(42)).message).toBe('42')
    expect(decodeError(encodeError(undefined)).message).toBe('undefined')
    expect(decodeError(encodeError({ code: 7 })).message).toBe('{"code":7}')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(decodeError(encodeError(cyclic)).message).toBe('[object Object]')
    expect(decodeError(encodeError(Object.create(null))).message).toBe('{}')
    expect(decodeError(encodeError(Symbol('s'))).message).toBe('Symbol(s)')
    const decoded = decodeError(encodeError('x'))
    expect(decoded).toBeInstanceOf(Error)
    expect(decoded.name).toBe('Error')
  })

  it('survives an error whose name getter throws', () => {
    const error = new Error('m')
    Object.defineProperty(error, 'name', {
      get() {
        throw new Error('nope')
      },
    })
    expect(() => encodeError(error)).not.toThrow()
    expect(decodeError(encodeError(error))).toBeInstanceOf(Error)
  })

  it('decodeError accepts the bare record and turns anything else into a TaskError', () => {
    const tree = encodeError(new RangeError('r')) as { v: Encoded }
    expect(decodeError(tree.v)).toBeInstanceOf(RangeError)
    const odd = decodeError('just text')
    expect(odd).toBeInstanceOf(TaskError)
    expect(odd.message).toBe('just text')
    expect(decodeError(null)).toBeInstanceOf(TaskError)
  })

  it('decodes an error that is nested in a value', () => {
    const decoded = trip({ errors: [new URIError('u')], when: new Date(1) })
    expect(decoded.errors[0]).toBeInstanceOf(URIError)
    expect(decoded.errors[0]!.message).toBe('u')
  })
})
