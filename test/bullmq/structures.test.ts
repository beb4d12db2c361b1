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

  it('restores ids at their stored places; later pushes go beyond them at both ends', () => {
    const list = new IdList()
    for (const [id, place] of [
      ['c', -3],
      ['b', -2],
      ['a', -1],
      ['lifo', 5],
    ] as const)
      list.restore(id, place)
    expect(list.toArray()).toEqual(['c', 'b', 'a', 'lifo'])
    list.pushLeft('d')
    list.pushRight('lifo2')
    expect(list.position('d')).toBeLessThan(-3)
    expect(list.position('lifo2')).toBeGreaterThan(5)
    const ids = list.toArray()
    expect(ids).toEqual(['d', 'c', 'b', 'a', 'lifo', 'lifo2'])
    const positions = ids.map((id) => list.position(id)!)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
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

describe('SortedSet against a plain sorted array (a model), through chunk splits and merges', () => {
  /** The reference: every item in one array, sorted by score then member. */
  class Model {
    items: Array<{ m: string; s: number }> = []
    #sort(): void {
      this.items.sort((a, b) => a.s - b.s || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0))
    }
    add(m: string, s: number): void {
      this.remove(m)
      this.items.push({ m, s })
      this.#sort()
    }
    remove(m: string): boolean {
      const i = this.items.findIndex((x) => x.m === m)
      if (i < 0) return false
      this.items.splice(i, 1)
      return true
    }
    range(start: number, end: number, rev: boolean): string[] {
      const all = this.items.map((x) => x.m)
      if (rev) all.reverse()
      const n = all.length
      const from = start < 0 ? Math.max(n + start, 0) : start
      const to = end < 0 ? n + end : Math.min(end, n - 1)
      return from > to || from >= n ? [] : all.slice(from, to + 1)
    }
    rangeByScore(min: number, max: number, limit: number): string[] {
      return this.items
        .filter((x) => x.s >= min && x.s <= max)
        .slice(0, limit)
        .map((x) => x.m)
    }
  }

  it('answers every operation as the model does', () => {
    // A fixed-seed generator, so a failure replays.
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed % n
    }
    const set = new SortedSet()
    const model = new Model()
    for (let step = 0; step < 20_000; step++) {
      const op = rand(100)
      const member = `m${rand(3_000)}`
      if (op < 55) {
        // Few distinct scores, so ties (ordered by member) are common; some at the end.
        const score = op < 15 ? 1_000 + step : rand(200)
        set.add(member, score)
        model.add(member, score)
      } else if (op < 75) {
        expect(set.remove(member)).toBe(model.remove(member))
      } else if (op < 80) {
        expect(set.popMin()).toBe(model.items.shift()?.m)
      } else if (op < 90) {
        const start = rand(40) - 10
        const end = rand(2) === 0 ? -1 - rand(10) : start + rand(700)
        const rev = rand(2) === 0
        expect(set.range(start, end, rev)).toEqual(model.range(start, end, rev))
      } else {
        const min = rand(220) - 10
        const max = min + rand(50)
        const limit = rand(3) === 0 ? Number.POSITIVE_INFINITY : rand(600)
        expect(set.rangeByScore(min, max, limit)).toEqual(model.rangeByScore(min, max, limit))
      }
      expect(set.size).toBe(model.items.length)
      if (step % 500 === 0) {
        expect(set.entries()).toEqual(model.items.map((x) => [x.m, x.s]))
        const top = model.items[0]
        expect(set.first()).toEqual(top === undefined ? undefined : { member: top.m, score: top.s })
        for (const x of model.items.slice(0, 20)) expect(set.score(x.m)).toBe(x.s)
      }
    }
    expect(set.members()).toEqual(model.items.map((x) => x.m))
    // Drain it, by pops and by removals, so chunks empty both ways.
    for (let step = 0; model.items.length > 0; step++) {
      if (step % 3 === 0) expect(set.popMin()).toBe(model.items.shift()!.m)
      else {
        const member = model.items[rand(model.items.length)]!.m
        expect(set.remove(member)).toBe(model.remove(member))
      }
      if (step % 25 === 0) {
        expect(set.range(0, 30)).toEqual(model.range(0, 30, false))
        expect(set.range(0, 30, true)).toEqual(model.range(0, 30, true))
        expect(set.rangeByScore(50, 150, 40)).toEqual(model.rangeByScore(50, 150, 40))
        const top = model.items[0]
        expect(set.first()).toEqual(top === undefined ? undefined : { member: top.m, score: top.s })
        set.add('probe', 100)
        model.add('probe', 100)
      }
    }
    expect(set.size).toBe(0)
    expect(set.first()).toBeUndefined()
    set.add('again', 1)
    expect(set.members()).toEqual(['again'])
    set.clear()
    expect(set.size).toBe(0)
    expect(set.popMin()).toBeUndefined()
    expect(set.range(0, -1)).toEqual([])
  })
})

describe('SortedSet emptied by removals', () => {
  it('drops a chunk as its last member goes, lowest first or highest first', () => {
    for (const order of ['lowest first', 'highest first']) {
      const set = new SortedSet()
      const ids = Array.from({ length: 2_000 }, (_, i) => `j${String(i).padStart(4, '0')}`)
      for (const [i, id] of ids.entries()) set.add(id, i)
      const going = order === 'lowest first' ? ids : [...ids].reverse()
      for (const [k, id] of going.entries()) {
        expect(set.remove(id)).toBe(true)
        const left = order === 'lowest first' ? ids.slice(k + 1) : ids.slice(0, ids.length - k - 1)
        if (k % 100 === 0 || left.length < 3) {
          expect(set.first()?.member).toBe(left[0])
          expect(set.range(0, 1)).toEqual(left.slice(0, 2))
          expect(set.range(0, 0, true)).toEqual(left.slice(-1))
          expect(set.rangeByScore(0, 5_000, 2)).toEqual(left.slice(0, 2))
        }
      }
      expect(set.size).toBe(0)
      set.add('again', 1)
      expect(set.members()).toEqual(['again'])
      expect(set.popMin()).toBe('again')
    }
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
