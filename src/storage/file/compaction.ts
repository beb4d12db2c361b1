/**
 * A compaction's snapshot: written in the background while calls go on, renamed into place,
 * made durable, and then the journals it replaces removed. The storage (index.ts) decides when
 * to compact and switches to the next generation's journal; this is what follows the switch.
 */
import { join } from 'node:path'
import type { FrozenRecords } from './frozen-records.js'
import type { ResolvedOptions } from './options.js'
import { snapshotFiles, writeSnapshot } from './snapshot.js'

/** A compaction under way: the frozen view it writes, its abort (close stops it), its end. */
export interface Compaction {
  readonly frozen: FrozenRecords
  readonly abort: AbortController
  done: Promise<void>
}

/** What the snapshot write asks of the storage that compacts. */
export interface SnapshotOwner {
  /** Whether a journal write has failed meanwhile (then a temp file is left for the next open). */
  readonly failed: () => boolean
  /** The snapshot of the new generation is durably in place, `bytes` long. */
  readonly installed: (bytes: number) => void
}

/**
 * Writes, renames into place and makes durable the snapshot of `generation`; then removes the
 * journals it replaces. A failure only warns: every call that resolved is in the journals,
 * which recovery replays in turn, and the next compaction folds them all.
 */
export async function installSnapshot(options: ResolvedOptions, generation: number, { frozen, abort }: Compaction, owner: SnapshotOwner): Promise<void> {
  const { dir, fs, snapshotChunkBytes, onWarning } = options
  const files = snapshotFiles(fs)
  const tmp = join(dir, 'snapshot.tmp')
  const fail = (error: unknown): void => {
    if (abort.signal.aborted) return
    onWarning(`compacting ${dir} failed: ${(error as Error).message}. Nothing is lost (the journals keep every call); it is tried again when the journal grows`)
  }
  let bytes: number
  try {
    bytes = (await writeSnapshot(tmp, generation, frozen.walk(), { files, chunkBytes: snapshotChunkBytes, signal: abort.signal })).bytes
    abort.signal.throwIfAborted()
    await files.rename(tmp, join(dir, 'snapshot'))
  } catch (error) {
    // After a journal failure the disk is left alone: the next open removes the temp file.
    if (!owner.failed()) await files.remove(tmp).catch(() => undefined)
    return fail(error)
  }
  try {
    // Until the rename is durable the older journals stay: recovery reads either outcome.
    await files.syncDirectory(dir)
    owner.installed(bytes)
    for (const name of fs.readdirSync(dir)) {
      const match = /^journal-(\d+)\.log$/.exec(name)
      if (match !== null && Number(match[1]) < generation) await files.remove(join(dir, name))
    }
  } catch (error) {
    // Journals left over are removed on the next open.
    fail(error)
  }
}
