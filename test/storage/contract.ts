/**
 * The Storage contract: every adapter runs this suite. It tests what the interface promises
 * (src/storage/types.ts) and what the engine relies on, nothing about how an adapter stores.
 *
 * @example
 * storageContract('memory', () => memoryStorage())
 * storageContract('file', () => fileStorage({ dir: tempDir() }), { reopen: ... })
 */
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/index.js'
import type { Mutation, Namespace, Storage, StorageKey } from '../../src/index.js'
import { NAMESPACES } from '../../src/storage/types.js'

export interface ContractOptions {
  /**
   * For durable adapters: a second handle on the same location as `storage`, to open after
   * `storage` is closed. The suite checks that it sees every write that resolved.
   */
  reopen?: (storage: Storage) => Storage
}

const put = (ns: Namespace, key: string, value: unknown): Mutation => ({ op: 'put', ns, key, value })
const del = (ns: Namespace, key: string): Mutation => ({ op: 'delete', ns, key })

export function storageContract(name: string, factory: () => Storage | Promise<Storage>, options: ContractOptions = {}): void {
  describe(`storage contract: ${name}`, () => {
    const opened: Storage[] = []

    async function open(): Promise<Storage> {
      const storage = await factory()
      await storage.open()
      opened.push(storage)
      return storage
    }

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close()
    })

    it('names itself and states its capabilities', async () => {
      const s = await factory()
      expect(s.name).toMatch(/\S/)
      expect(typeof s.capabilities.durable).toBe('boolean')
      expect(typeof s.capabilities.shared).toBe('boolean')
    })

    it('a missing key reads undefined; an empty namespace has no entries', async () => {
      const s = await open()
      for (const ns of NAMESPACES) {
        expect(await s.get(ns, 'absent')).toBeUndefined()
        expect(await s.entries(ns)).toEqual([])
      }
    })

    it('a put is read back equal, in its own namespace only', async () => {
      const s = await open()
      const value = { id: 'a', nested: { list: [1, 'two', null, true], n: -1.5 }, empty: {}, text: 'é ✓ \u0000' }
      await s.write([put('results', 'a', value)])
      expect(await s.get('results', 'a')).toEqual(value)
      expect(await s.get('messages', 'a')).toBeUndefined()
      expect(await s.entries('results')).toEqual([['a', value]])
    })

    it('stores every JSON-compatible value the core writes: objects, arrays, strings, numbers, booleans, null', async () => {
      const s = await open()
      const values: unknown[] = [0, 42, -7.25, 'text', '', true, false, null, [], [1, [2, [3]]], { a: { b: { c: null } } }]
      await s.write(values.map((v, i) => put('meta', `v${i}`, v)))
      for (const [i, v] of values.entries()) expect(await s.get('meta', `v${i}`)).toEqual(v)
    })

    it('keys are opaque strings: prototype names, separators and unicode are plain keys', async () => {
      const s = await open()
      const keys = ['__proto__', 'constructor', 'a#0', 'a/b', 'ключ', '', ' ']
      await s.write(keys.map((k, i) => put('chords', k, i)))
      for (const [i, k] of keys.entries()) expect(await s.get('chords', k)).toBe(i)
      expect((await s.entries('chords')).map(([k]) => k).sort()).toEqual([...keys].sort())
      expect(({} as Record<string, unknown>)['0']).toBeUndefined()
    })

    it('a write applies its mutations in order: a later put or delete of a key wins', async () => {
      const s = await open()
      await s.write([put('results', 'k', 1), put('results', 'k', 2), del('results', 'gone'), put('results', 'gone', 'x'), del('results', 'gone')])
      expect(await s.get('results', 'k')).toBe(2)
      expect(await s.get('results', 'gone')).toBeUndefined()
    })

    it('a delete removes the key from get and entries; deleting a missing key is fine', async () => {
      const s = await open()
      await s.write([put('locks', 'a', 1), put('locks', 'b', 2)])
      await s.write([del('locks', 'a'), del('locks', 'never')])
      expect(await s.get('locks', 'a')).toBeUndefined()
      expect(await s.entries('locks')).toEqual([['b', 2]])
    })

    it('an empty write resolves and changes nothing', async () => {
      const s = await open()
      await s.write([])
      expect(await s.entries('results')).toEqual([])
    })

    it('a write with an unknown namespace rejects and writes none of its mutations', async () => {
      const s = await open()
      const bad = [put('results', 'first', 1), { op: 'put', ns: 'nope', key: 'x', value: 1 } as unknown as Mutation]
      await expect(s.write(bad)).rejects.toBeInstanceOf(StorageError)
      expect(await s.get('results', 'first')).toBeUndefined()
      // And the storage keeps working.
      await s.write([put('results', 'after', 1)])
      expect(await s.get('results', 'after')).toBe(1)
    })

    it('entries holds every key of a namespace once, with its latest value', async () => {
      const s = await open()
      const writes: Array<Promise<void>> = []
      for (let i = 0; i < 200; i++) writes.push(s.write([put('messages', `m${i % 50}`, i)]))
      await Promise.all(writes)
      const entries = await s.entries('messages')
      expect(entries).toHaveLength(50)
      const map = new Map(entries)
      for (let k = 0; k < 50; k++) expect(map.get(`m${k}`)).toBe(150 + k)
    })

    it('concurrent writes each resolve, and all of them are applied', async () => {
      const s = await open()
      await Promise.all(Array.from({ length: 100 }, (_, i) => s.write([put('results', `r${i}`, { i })])))
      expect(await s.entries('results')).toHaveLength(100)
    })

    it('transact passes the current values of its keys, in order, and commits its mutations', async () => {
      const s = await open()
      await s.write([put('chords', 'c', { count: 1 }), put('meta', 'n', 5)])
      const keys: StorageKey[] = [
        { ns: 'meta', key: 'n' },
        { ns: 'chords', key: 'missing' },
        { ns: 'chords', key: 'c' },
      ]
      const result = await s.transact(keys, (values) => {
        expect(values).toEqual([5, undefined, { count: 1 }])
        return { mutations: [put('meta', 'n', 6), del('chords', 'c')], result: 'answer' }
      })
      expect(result).toBe('answer')
      expect(await s.get('meta', 'n')).toBe(6)
      expect(await s.get('chords', 'c')).toBeUndefined()
    })

    it('transact is atomic: 100 concurrent increments of one counter end at exactly 100', async () => {
      const s = await open()
      const key: StorageKey = { ns: 'meta', key: 'counter' }
      const seen = await Promise.all(
        Array.from({ length: 100 }, () =>
          s.transact([key], ([n]) => {
            const next = ((n as number | undefined) ?? 0) + 1
            return { mutations: [put('meta', 'counter', next)], result: next }
          }),
        ),
      )
      expect(await s.get('meta', 'counter')).toBe(100)
      // Each caller saw its own step: every count from 1 to 100 exactly once.
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    })

    it('transact sees the writes of calls made before it, and interleaves correctly with write', async () => {
      const s = await open()
      const first = s.write([put('meta', 'x', 1)])
      const read = s.transact([{ ns: 'meta', key: 'x' }], ([x]) => ({ mutations: [put('meta', 'x', (x as number) + 1)], result: x }))
      const last = s.write([put('meta', 'y', 'after')])
      await Promise.all([first, last])
      expect(await read).toBe(1)
      expect(await s.get('meta', 'x')).toBe(2)
    })

    it('calls apply in call order: a write made after a transact on the same key wins', async () => {
      const s = await open()
      const key: StorageKey = { ns: 'meta', key: 'k' }
      const calls = [
        s.write([put('meta', 'k', 'first')]),
        s.transact([key], ([v]) => ({ mutations: [put('meta', 'k', `${String(v)}+step`)], result: v })),
        s.write([put('meta', 'k', 'last')]),
        s.transact([key], ([v]) => ({ mutations: [], result: v })),
      ]
      const [, seenByStep, , seenAfter] = await Promise.all(calls)
      expect(seenByStep).toBe('first')
      expect(seenAfter).toBe('last')
      expect(await s.get('meta', 'k')).toBe('last')
    })

    it('a transact whose step throws rejects with that error and writes nothing', async () => {
      const s = await open()
      await s.write([put('meta', 'n', 1)])
      const boom = new Error('step failed')
      await expect(
        s.transact([{ ns: 'meta', key: 'n' }], () => {
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await s.get('meta', 'n')).toBe(1)
    })

    it('a transact may write nothing and only answer', async () => {
      const s = await open()
      expect(await s.transact([{ ns: 'locks', key: 'free' }], ([v]) => ({ mutations: [], result: v === undefined }))).toBe(true)
    })

    it('the chord counting pattern counts each member once under concurrency', async () => {
      const s = await open()
      await s.write([put('chords', 'ch', { count: 0, size: 3 })])
      const count = (index: number) =>
        s.transact(
          [
            { ns: 'chords', key: 'ch' },
            { ns: 'chords', key: `ch#${index}` },
          ],
          ([record, seen]) => {
            if (seen !== undefined) return { mutations: [], result: false }
            const r = record as { count: number; size: number }
            const next = { ...r, count: r.count + 1 }
            return { mutations: [put('chords', `ch#${index}`, true), put('chords', 'ch', next)], result: next.count === next.size }
          },
        )
      // Member 1 is delivered twice (a redelivery): it counts once, and the chord completes once.
      const completions = await Promise.all([count(0), count(1), count(1), count(2)])
      expect(completions.filter(Boolean)).toHaveLength(1)
      expect(await s.get('chords', 'ch')).toEqual({ count: 3, size: 3 })
    })

    it('two storages from the factory are independent', async () => {
      const a = await open()
      const b = await open()
      await a.write([put('results', 'only-a', 1)])
      expect(await b.get('results', 'only-a')).toBeUndefined()
    })

    it('use before open and after close rejects with StorageError', async () => {
      const s = await factory()
      await expect(s.get('results', 'x')).rejects.toBeInstanceOf(StorageError)
      await s.open()
      await s.write([put('results', 'x', 1)])
      await s.close()
      await expect(s.get('results', 'x')).rejects.toBeInstanceOf(StorageError)
      await expect(s.write([put('results', 'y', 1)])).rejects.toBeInstanceOf(StorageError)
      await expect(s.entries('results')).rejects.toBeInstanceOf(StorageError)
      await expect(s.transact([], () => ({ mutations: [], result: 1 }))).rejects.toBeInstanceOf(StorageError)
    })

    if (options.reopen !== undefined) {
      const reopen = options.reopen
      it('durable: a reopened handle sees every write and transact that resolved, deletes included', async () => {
        const s = await factory()
        expect(s.capabilities.durable).toBe(true)
        await s.open()
        await s.write([put('messages', 'm1', { n: 1 }), put('messages', 'm2', { n: 2 }), put('revoked', 'r', true)])
        await s.write([del('messages', 'm1')])
        await Promise.all(
          Array.from({ length: 20 }, () =>
            s.transact([{ ns: 'meta', key: 'fence' }], ([n]) => ({ mutations: [put('meta', 'fence', ((n as number | undefined) ?? 0) + 1)], result: null })),
          ),
        )
        await s.close()
        const again = reopen(s)
        await again.open()
        opened.push(again)
        expect(await again.get('messages', 'm1')).toBeUndefined()
        expect(await again.get('messages', 'm2')).toEqual({ n: 2 })
        expect(await again.get('revoked', 'r')).toBe(true)
        expect(await again.get('meta', 'fence')).toBe(20)
      })
    }
  })
}
