/** What the file storage tests share: temp directories, storages closed after each test, journal reading. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { afterEach } from 'vitest'
import { join } from 'node:path'
import type { Mutation, Storage } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import type { FileStorageOptions } from '../../src/node.js'
import { frameAt } from '../../src/storage/file/frame.js'
import { decodeCall, itemCalls } from '../../src/storage/file/journal-calls.js'

export interface FileHarness {
  /** A fresh directory, removed after the test. */
  tempDir(): string
  /** An opened file storage (warnings dropped unless `onWarning` is given), closed after the test. */
  opened(options: FileStorageOptions): Promise<Storage>
  /** Closes every storage `opened` gave so far. */
  closeAll(): Promise<void>
}

/** Registers the cleanup (an `afterEach`) and returns the helpers. */
export function fileHarness(): FileHarness {
  const dirs: string[] = []
  const open: Storage[] = []
  const closeAll = async (): Promise<void> => {
    for (const s of open.splice(0)) await s.close()
  }
  afterEach(async () => {
    await closeAll()
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })
  return {
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), 'celeriac-file-'))
      dirs.push(dir)
      return dir
    },
    async opened(options) {
      const storage = fileStorage({ onWarning: () => {}, ...options })
      await storage.open()
      open.push(storage)
      return storage
    },
    closeAll,
  }
}

export const put = (key: string, value: unknown): Mutation => ({ op: 'put', ns: 'results', key, value })

/** Offsets of every intact frame of a journal file, from its start. */
export function frameOffsets(path: string): number[] {
  const bytes = readFileSync(path)
  const offsets: number[] = []
  for (let at = 0; at < bytes.length; ) {
    const found = frameAt(bytes, at)
    if (found === undefined) break
    offsets.push(at)
    at = found.end
  }
  return offsets
}

/** The keys each call of each flush wrote, frame by frame, the journal's header frame left out. */
export function journalKeys(path: string): string[][][] {
  const bytes = readFileSync(path)
  return frameOffsets(path)
    .slice(1)
    .map((at) => journalCalls(frameAt(bytes, at)!.payload).map((call) => decodeCall(call).map((m) => m.key)))
}

/** The calls of a journal frame (version 2 and 3: after the frame's `synced` mark; a bare record as its call). */
function journalCalls(payload: Buffer): unknown[][] {
  const parsed = JSON.parse(payload.toString('utf8')) as unknown[]
  return itemCalls(parsed, typeof parsed[0] === 'number' ? 1 : 0)
}

/** The compaction a file storage has under way (settled when it is over), or undefined. */
export function compactionOf(storage: Storage): Promise<void> | undefined {
  return (storage as unknown as { compaction: Promise<void> | undefined }).compaction
}
