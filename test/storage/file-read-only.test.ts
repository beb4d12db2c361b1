/**
 * `readStorageDirectory` (the CLI's `--dir`): a directory read without changing it finds what
 * opening it finds, across compactions and the leftovers of one cut short; what an open refuses
 * it refuses; a directory this process holds open is refused as owned.
 */
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Namespace, Storage } from '../../src/index.js'
import { DirectoryReadError, readStorageDirectory } from '../../src/storage/file/read-only.js'
import { NAMESPACES } from '../../src/storage/types.js'
import { fileHarness } from './file-harness.js'

const h = fileHarness()

/** Every record, by namespace, sorted by key. */
async function everything(read: (ns: Namespace) => Promise<Array<[string, unknown]>> | Array<[string, unknown]>) {
  const out: Record<string, Array<[string, unknown]>> = {}
  for (const ns of NAMESPACES) out[ns] = [...(await read(ns))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return out
}

function listing(dir: string): Record<string, [number, number]> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, [statSync(join(dir, name)).size, statSync(join(dir, name)).mtimeMs]]))
}

/** Writes records through a storage that compacts every few KiB, and closes it. */
async function written(dir: string): Promise<void> {
  const storage: Storage = await h.opened({ dir, compactBytes: 4096 })
  for (let i = 0; i < 200; i++) {
    await storage.write([
      { op: 'put', ns: 'results', key: `r${i % 50}`, value: { i, text: 'x'.repeat(50) } },
      { op: 'put', ns: 'messages', key: `m${i}`, value: { i } },
      ...(i >= 10 ? [{ op: 'delete' as const, ns: 'messages' as const, key: `m${i - 10}` }] : []),
    ])
  }
  await h.closeAll()
}

describe('readStorageDirectory', () => {
  it('finds what an open finds after compactions, skipping the leftovers an open removes, changing nothing', async () => {
    const dir = h.tempDir()
    await written(dir)
    const journals = readdirSync(dir).filter((n) => n.startsWith('journal-'))
    expect(readdirSync(dir)).toContain('snapshot')
    const generation = Number(/\d+/.exec(journals[0]!)![0])
    expect(generation).toBeGreaterThan(0)
    // A compaction cut short before its rename, and one cut short before deleting an older journal.
    writeFileSync(join(dir, 'snapshot.tmp'), 'half a snapshot')
    copyFileSync(join(dir, journals[0]!), join(dir, `journal-${generation - 1}.log`))
    const before = listing(dir)

    const { records, lock, warnings } = readStorageDirectory(dir)
    expect(lock).toEqual({ state: 'none' })
    expect(warnings).toEqual([])
    expect(listing(dir)).toEqual(before)

    const storage = await h.opened({ dir })
    expect(await everything((ns) => records.entries(ns))).toEqual(await everything((ns) => storage.entries(ns)))
    expect(records.entries('messages')).toHaveLength(10)
    expect(records.entries('results')).toHaveLength(50)
  })

  it('refuses what an open refuses (damage with intact data after it), and a directory that is no store', async () => {
    const dir = h.tempDir()
    await written(dir)
    const journal = readdirSync(dir).find((n) => n.startsWith('journal-'))!
    const bytes = readFileSync(join(dir, journal))
    if (bytes.length < 200) throw new Error('the journal should hold several frames')
    bytes[60] = bytes[60]! ^ 0xff
    writeFileSync(join(dir, journal), bytes)
    expect(() => readStorageDirectory(dir)).toThrow(expect.objectContaining({ name: 'DirectoryReadError', reason: 'unreadable' }))
    await expect(h.opened({ dir })).rejects.toThrow(/damaged at byte offset/)
    expect(() => readStorageDirectory(h.tempDir())).toThrow(/holds no celeriac file storage/)
  })

  it('refuses a directory a live process holds (this one), naming it', async () => {
    const dir = h.tempDir()
    await h.opened({ dir })
    let error: unknown
    try {
      readStorageDirectory(dir)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DirectoryReadError)
    expect(error).toMatchObject({ reason: 'owned', pid: process.pid, message: expect.stringContaining(`open in this process (${process.pid})`) })
  })
})
