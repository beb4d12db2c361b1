/** The Redis-shaped structures under the BullMQ backend: list order, sorted-set ties, the event stream. */
import { describe, expect, it } from 'vitest'
import { EventStream } from '../../src/bullmq/events.js'
import { IdList } from '../../src/bullmq/id-list.js'
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
