/** The Redis-shaped structures under the BullMQ backend: list order and sorted-set ties. */
import { describe, expect, it } from 'vitest'
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
