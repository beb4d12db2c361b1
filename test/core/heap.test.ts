import { describe, expect, it } from 'vitest'
import { Heap } from '../../src/core/time/heap.js'

interface Item {
  readonly key: number
  readonly seq: number
}

const before = (a: Item, b: Item): boolean => a.key < b.key || (a.key === b.key && a.seq < b.seq)
const bySortOrder = (a: Item, b: Item): number => a.key - b.key || a.seq - b.seq

/** A small seeded generator (mulberry32), so a failure repeats. */
function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function drain(heap: Heap<Item>): Item[] {
  const out: Item[] = []
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item)
  return out
}

describe('Heap', () => {
  it('is empty at first', () => {
    const heap = new Heap(before)
    expect(heap.size).toBe(0)
    expect(heap.peek()).toBeUndefined()
    expect(heap.pop()).toBeUndefined()
  })

  it('gives items back in order, ties by sequence, across interleaved pushes and pops', () => {
    const random = seeded(12)
    const heap = new Heap(before)
    const model: Item[] = []
    let seq = 0
    for (let round = 0; round < 2000; round++) {
      if (random() < 0.6 || model.length === 0) {
        // Few distinct keys, so ties are common.
        const item = { key: Math.floor(random() * 20), seq: seq++ }
        heap.push(item)
        model.push(item)
      } else {
        model.sort(bySortOrder)
        expect(heap.peek()).toBe(model[0])
        expect(heap.pop()).toBe(model.shift())
      }
      expect(heap.size).toBe(model.length)
    }
    expect(drain(heap)).toEqual(model.sort(bySortOrder))
  })

  it('lists its items in order without taking them out', () => {
    const heap = new Heap(before)
    const items = [5, 1, 4, 1, 3].map((key, seq) => ({ key, seq }))
    for (const item of items) heap.push(item)
    expect(heap.sorted()).toEqual([...items].sort(bySortOrder))
    expect(heap.size).toBe(5)
  })

  it('removes the items that match and keeps the rest in order', () => {
    const random = seeded(7)
    const heap = new Heap(before)
    const items = Array.from({ length: 200 }, (_, seq) => ({ key: Math.floor(random() * 50), seq }))
    for (const item of items) heap.push(item)
    const removed = heap.removeWhere((item) => item.key % 3 === 0)
    expect([...removed].sort(bySortOrder)).toEqual(items.filter((item) => item.key % 3 === 0).sort(bySortOrder))
    expect(heap.removeWhere(() => false)).toEqual([])
    expect(drain(heap)).toEqual(items.filter((item) => item.key % 3 !== 0).sort(bySortOrder))
  })
})
