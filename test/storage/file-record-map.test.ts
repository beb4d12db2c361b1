/**
 * File storage's RecordMap (record-map.ts) behaves as a Map of the same calls: values, sizes,
 * insertion order, and iterators that run while the map changes (FrozenRecords walks one while
 * calls go on), through growth, deletes that shift probe runs back, and hole compaction.
 */
import { describe, expect, it } from 'vitest'
import { fileRecords } from '../../src/storage/file/record-map.js'
import type { NamespaceRecords } from '../../src/storage/records.js'

/** A small deterministic generator (xorshift32): the same run every time. */
function random(seed: number): (n: number) => number {
  let x = seed | 0 || 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

const fresh = (): NamespaceRecords => fileRecords().map('messages')

function expectSame(map: NamespaceRecords, model: Map<string, unknown>): void {
  expect(map.size).toBe(model.size)
  expect([...map]).toEqual([...model])
}

describe('RecordMap', () => {
  it('gives what a Map gives for random puts, re-puts and deletes, over growth and compaction', () => {
    for (const [seed, keys] of [
      [1, 50],
      [2, 3_000],
      [3, 20_000],
    ] as const) {
      const next = random(seed)
      const map = fresh()
      const model = new Map<string, unknown>()
      for (let step = 0; step < 60_000; step++) {
        // Keys that share long prefixes and differ only at the end, as ids do; '' and one non-ASCII.
        const n = next(keys + 2)
        const key = n === keys ? '' : n === keys + 1 ? 'clé-é' : `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
        const op = next(10)
        if (op < 5) {
          map.set(key, step)
          model.set(key, step)
        } else if (op < 9) {
          expect(map.delete(key)).toBe(model.delete(key))
        } else {
          expect(map.get(key)).toBe(model.get(key))
          expect(map.has(key)).toBe(model.has(key))
        }
        if (step % 7_919 === 0) expectSame(map, model)
      }
      expectSame(map, model)
      for (const key of [...model.keys()]) {
        expect(map.delete(key)).toBe(true)
        model.delete(key)
      }
      expectSame(map, model)
      expect(map.get('absent')).toBeUndefined()
    }
  })

  it('iterates as a Map does while it changes: deleted entries skipped, added ones visited, a re-put key at its new place', () => {
    const next = random(7)
    for (let round = 0; round < 40; round++) {
      const map = fresh()
      const model = new Map<string, unknown>()
      for (let i = 0; i < 3_000; i++) {
        map.set(`k${i}`, i)
        model.set(`k${i}`, i)
      }
      const seen: unknown[] = []
      const seenModel: unknown[] = []
      const it = map[Symbol.iterator]()
      const itModel = model[Symbol.iterator]()
      for (;;) {
        const a = it.next()
        const b = itModel.next()
        expect(a.done).toBe(b.done)
        if (a.done === true || b.done === true) break
        seen.push(a.value)
        seenModel.push(b.value)
        // Change the map under the iterator: deletes (enough to pass the compaction bound), puts, re-puts.
        for (let c = next(4); c > 0; c--) {
          const key = `k${next(4_000)}`
          if (next(3) === 0) {
            map.set(key, round)
            model.set(key, round)
          } else {
            map.delete(key)
            model.delete(key)
          }
        }
      }
      expect(seen).toEqual(seenModel)
      expectSame(map, model)
    }
  })

  it('compacts its holes once no iterator is open, keeping order and every key reachable', () => {
    const map = fresh()
    const model = new Map<string, unknown>()
    for (let i = 0; i < 10_000; i++) {
      map.set(`k${i}`, i)
      model.set(`k${i}`, i)
    }
    // An iterator left open (started, not finished) holds compaction off; its return() lets it run.
    const open = map[Symbol.iterator]()
    open.next()
    for (let i = 0; i < 9_000; i++) {
      map.delete(`k${i}`)
      model.delete(`k${i}`)
    }
    expectSame(map, model)
    open.return?.()
    for (let i = 9_000; i < 9_500; i++) {
      map.delete(`k${i}`)
      model.delete(`k${i}`)
    }
    for (let i = 0; i < 2_000; i++) {
      map.set(`k${i}`, -i)
      model.set(`k${i}`, -i)
    }
    expectSame(map, model)
    for (let i = 0; i < 10_000; i++) expect(map.get(`k${i}`)).toBe(model.get(`k${i}`))
  })
})
