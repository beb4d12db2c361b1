/** The Redis-shaped structures under the BullMQ backend: list order, sorted-set ties, the event stream, and the copies of job options. */
import { describe, expect, it } from 'vitest'
import { EventStream } from '../../src/bullmq/events.js'
import { IdList } from '../../src/bullmq/id-list.js'
import { clone } from '../../src/bullmq/job-record.js'
import { SortedSet } from '../../src/bullmq/sorted-set.js'

describe('IdList (a Redis list of job ids)', () => {
  it('LPUSH puts newest first; RPOP takes the oldest; RPUSH jumps the line', () => {
    const list = new IdList()
    for (const id of ['1', '2', '3']) list.pushLeft(id)
    list.pushRight('lifo')
    expect(list.toArray()).toEqual(['3', '2', '1', 'lifo'])
    expect(list.popRight()).toBe('lifo')
    expect(list.popRight()).toBe('1')
    expect(list.range(0, -1)).toEqual(['3', '2'])
  })

  it('removes from the middle, keeps positions in list order, and compacts', () => {
    const list = new IdList()
    for (let i = 0; i < 200; i++) list.pushLeft(String(i))
    for (let i = 0; i < 200; i += 2) list.remove(String(i))
    expect(list.length).toBe(100)
    const ids = list.toArray()
    expect(ids[0]).toBe('199')
    expect(ids.at(-1)).toBe('1')
    const positions = ids.map((id) => list.position(id)!)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    expect(list.range(-2, -1)).toEqual(['3', '1'])
  })
  it('stays a FIFO across thousands of pushes and pops, removes and re-pushes, with positions in list order', () => {
    const list = new IdList()
    const model: string[] = [] // left to right
    let next = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) {
        const id = String(next++)
        list.pushLeft(id)
        model.unshift(id)
      }
      // Pop most of them (the popped prefix of the left pushes is dropped now and then).
      for (let i = 0; i < 90; i++) expect(list.popRight()).toBe(model.pop())
      // A removal from the middle, a re-push of an id that is there, a LIFO push.
      const middle = model[Math.floor(model.length / 2)]!
      expect(list.remove(middle)).toBe(true)
      model.splice(model.indexOf(middle), 1)
      const again = model[0]!
      list.pushRight(again)
      model.splice(0, 1)
      model.push(again)
      expect(list.peekRight()).toBe(again)
    }
    expect(list.toArray()).toEqual(model)
    expect(list.length).toBe(model.length)
    const positions = model.map((id) => list.position(id)!)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    while (model.length > 0) expect(list.popRight()).toBe(model.pop())
    expect(list.popRight()).toBeUndefined()
    expect(list.position('0')).toBeUndefined()
  })
})

describe('SortedSet (a Redis sorted set)', () => {
  it('orders by score, then member; ranges by rank either way', () => {
    const set = new SortedSet()
    set.add('b', 2)
    set.add('a', 2)
    set.add('z', 1)
    set.add('c', 3)
    expect(set.members()).toEqual(['z', 'a', 'b', 'c'])
    expect(set.range(0, 1, true)).toEqual(['c', 'b'])
    expect(set.rangeByScore(2, 2)).toEqual(['a', 'b'])
    set.add('z', 5)
    expect(set.popMin()).toBe('a')
    expect(set.range(-1, -1)).toEqual(['z'])
    expect(set.remove('b')).toBe(true)
    expect(set.size).toBe(2)
  })
})

describe('SortedSet.rangeByScore (binary search to the first score at least min)', () => {
  it('returns members within [min, max] in order, at most limit, for any min', () => {
    const set = new SortedSet()
    for (let i = 0; i < 1_000; i++) set.add(`m${String(i).padStart(4, '0')}`, Math.floor(i / 10))
    expect(set.rangeByScore(5, 5)).toEqual(Array.from({ length: 10 }, (_, i) => `m${String(50 + i).padStart(4, '0')}`))
    expect(set.rangeByScore(4.5, 6, 3)).toEqual(['m0050', 'm0051', 'm0052'])
    expect(set.rangeByScore(Number.NEGATIVE_INFINITY, 0)).toHaveLength(10)
    expect(set.rangeByScore(99, Number.POSITIVE_INFINITY)).toHaveLength(10)
    expect(set.rangeByScore(100, 200)).toEqual([])
    expect(set.rangeByScore(7, 6)).toEqual([])
    expect(set.rangeByScore(0, 1_000)).toHaveLength(1_000)
  })
})

describe('EventStream (a capped Redis stream)', () => {
  it('keeps the newest maxLen entries in order across trims, and reads after any cursor', () => {
    const stream = new EventStream()
    const ids: string[] = []
    // Far past the cap, so the trimmed prefix is dropped from memory more than once.
    for (let i = 0; i < 5_000; i++) ids.push(stream.add({ event: 'added', jobId: i }, 1_000))
    expect(stream.length).toBe(1_000)
    expect(stream.lastId).toBe(ids.at(-1))
    const all = stream.after('0-0')
    expect(all.map((e) => e.id)).toEqual(ids.slice(4_000))
    expect(all[0]!.fields).toEqual(['event', 'added', 'jobId', '4000'])
    expect(stream.after(ids[4_499]!).map((e) => e.id)).toEqual(ids.slice(4_500))
    expect(stream.after(ids.at(-1)!)).toEqual([])
    expect(stream.trim(10)).toBe(990)
    expect(stream.after('0-0').map((e) => e.id)).toEqual(ids.slice(4_990))
    expect(stream.trim(10)).toBe(0)
    stream.clear()
    expect(stream.length).toBe(0)
    expect(stream.after('0-0')).toEqual([])
  })
})

describe('clone (what the store copies in and out: a JSON round trip)', () => {
  const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v))
  const values: Record<string, unknown> = {
    'plain options': { removeOnComplete: true, attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, jobId: 'x', priority: 0 },
    'undefined values and functions dropped': { a: undefined, b: () => 1, c: null, d: { e: undefined } },
    'integer-like keys first, as JSON orders them': { b: 1, 2: 'two', a: 2, 1: 'one' },
    'NaN, Infinity and -0': { n: Number.NaN, i: Number.POSITIVE_INFINITY, z: -0 },
    'a Date and an array': { when: new Date(0), list: [1, undefined, { x: 1 }] },
    'a toJSON': { t: { toJSON: () => 'custom' } },
    'a __proto__ key': JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'),
    'a null prototype': Object.assign(Object.create(null) as object, { a: 1 }),
    'deep nesting': { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } },
    'a top-level array': [1, 'a', { b: true }],
  }
  for (const [title, value] of Object.entries(values)) {
    it(`copies ${title} as the round trip does`, () => {
      const copy = clone(value)
      expect(JSON.stringify(copy)).toBe(JSON.stringify(value))
      expect(copy).toStrictEqual(roundTrip(value))
      expect(Object.keys(copy as object)).toEqual(Object.keys(roundTrip(value) as object))
      expect(Object.getPrototypeOf(copy)).toBe(Object.getPrototypeOf(roundTrip(value)))
    })
  }

  it('shares nothing with the original', () => {
    const original = { backoff: { type: 'fixed', delay: 5 }, repeat: { every: 10 } }
    const copy = clone(original)
    copy.backoff.delay = 6
    expect(original.backoff.delay).toBe(5)
    expect(copy.repeat).not.toBe(original.repeat)
  })

  it('passes primitives through', () => {
    expect(clone(0)).toBe(0)
    expect(clone('s')).toBe('s')
    expect(clone(null)).toBe(null)
    expect(clone(undefined)).toBe(undefined)
  })
})
