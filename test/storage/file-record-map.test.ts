/**
 * File storage's RecordMap (record-map.ts) behaves as a Map of the same calls: values, sizes,
 * insertion order, and iterators that run while the map changes (FrozenRecords walks one while
 * calls go on), through growth, deletes that shift probe runs back, and hole compaction.
 */
import { describe, expect, it } from 'vitest'
import { RecordMap, fileRecords } from '../../src/storage/file/record-map.js'
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

  it('gives its room back when a backlog drains, while an iterator is open too, and stays a Map', () => {
    // A drained backlog of a million once kept a table of ~16 MB for as long as the store was open.
    const map = new RecordMap<number>()
    const model = new Map<string, number>()
    for (let i = 0; i < 100_000; i++) {
      map.set(`id-${i}`, i)
      model.set(`id-${i}`, i)
    }
    const full = map.capacity
    expect(full).toBeGreaterThanOrEqual(200_000)
    const walking = map[Symbol.iterator]()
    walking.next()
    for (let i = 0; i < 99_990; i++) {
      map.delete(`id-${i}`)
      model.delete(`id-${i}`)
    }
    expect(map.capacity).toBeLessThanOrEqual(64)
    expect([...walking].map(([key]) => key)).toEqual([...model.keys()])
    expectSame(map, model)
    for (let i = 0; i < 1_000; i++) {
      map.set(`new-${i}`, i)
      model.set(`new-${i}`, i)
    }
    expectSame(map, model)
    for (const key of model.keys()) expect(map.get(key)).toBe(model.get(key))
    for (const key of [...model.keys()]) map.delete(key)
    expect(map.size).toBe(0)
    expect(map.capacity).toBe(16)
  })

  it('keeps keys whose units differ only in their high bits apart (FNV-1a alone gives them one low-bit hash)', () => {
    // 4,096 two-unit keys, each unit 0x41 + 0x400 * j: their unseeded FNV-1a hashes share the low
    // 10 bits, the bits a slot is taken from. They must all be found, and found again after deletes.
    const map = new RecordMap<number>()
    const model = new Map<string, number>()
    for (let a = 0; a < 64; a++)
      for (let b = 0; b < 64; b++) {
        const key = String.fromCharCode(0x41 + 0x400 * a, 0x41 + 0x400 * b)
        map.set(key, a * 64 + b)
        model.set(key, a * 64 + b)
      }
    for (const key of [...model.keys()].filter((_, i) => i % 3 === 0)) {
      map.delete(key)
      model.delete(key)
    }
    expectSame(map, model)
    for (const key of model.keys()) expect(map.get(key)).toBe(model.get(key))
  })

  it('puts a run of records by id as set of each in turn would: repeated ids in the run, ids already there, growth inside the run', () => {
    const next = random(11)
    for (const keys of [40, 3_000]) {
      const map = new RecordMap<unknown>()
      const model = new Map<string, unknown>()
      for (let round = 0; round < 30; round++) {
        // Some deletes between runs, so runs put into a table with emptied slots and holes.
        for (let d = next(keys / 4); d > 0; d--) {
          const key = `00000000-0000-4000-8000-${String(next(keys)).padStart(12, '0')}`
          expect(map.delete(key)).toBe(model.delete(key))
        }
        const run: unknown[] = ['not in the run']
        for (let i = next(keys); i >= 0; i--) run.push({ id: `00000000-0000-4000-8000-${String(next(keys)).padStart(12, '0')}`, n: i })
        run.push('not in the run either')
        map.setEachById(run, 1, run.length - 1)
        for (let i = 1; i < run.length - 1; i++) model.set((run[i] as { id: string }).id, run[i])
        const wrong = [...model].filter(([key, value]) => map.get(key) !== value)
        expect(wrong).toEqual([])
        if (round % 6 === 5) expectSame(map, model)
      }
    }
    // A run longer than the map's batch of hashes (4,096), its ids repeated across batches.
    const map = new RecordMap<unknown>()
    const model = new Map<string, unknown>()
    const run = Array.from({ length: 9_000 }, (_, i) => ({ id: `k${i % 5_000}`, i }))
    map.setEachById(run, 0, run.length)
    for (const value of run) model.set(value.id, value)
    expectSame(map, model)
  })
})
