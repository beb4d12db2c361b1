/**
 * The journal file `journal-<generation>.log`: a header frame, then one frame per flush holding
 * the list of committed calls, each a list of mutations. Created, and read back on open, here;
 * appended to by the storage (index.ts).
 */
import { isAscii } from 'node:buffer'
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import type { Records } from '../records.js'
import { closeQuietly, fsyncDirectory, writeAllSync } from './durable-io.js'
import { frame, scanFrames } from './frame.js'
import type { ScannedFrames } from './frame.js'
import type { FileSystem } from './fs.js'
import { replayCall } from './journal-calls.js'

const JOURNAL_VERSION = 1

interface JournalHeader {
  kind: 'journal'
  version: number
  generation: number
}

export function journalPath(dir: string, generation: number): string {
  return join(dir, `journal-${generation}.log`)
}

/** The header frame of generation's journal. */
export function journalHeader(generation: number): Buffer {
  const header: JournalHeader = { kind: 'journal', version: JOURNAL_VERSION, generation }
  return frame(Buffer.from(JSON.stringify(header), 'utf8'))
}

/** Creates (or truncates) `journal-<generation>.log` holding only its header frame, durably. */
export function createJournal(fs: FileSystem, dir: string, generation: number): { fd: number; bytes: number } {
  const bytes = journalHeader(generation)
  const fd = fs.openSync(journalPath(dir, generation), 'w', 0o600)
  try {
    writeAllSync(fs, fd, bytes)
    fs.fsyncSync(fd)
    fsyncDirectory(fs, dir)
  } catch (error) {
    closeQuietly(fs, fd)
    throw error
  }
  return { fd, bytes: bytes.length }
}

/** What {@link readJournal} found. */
export interface ReadJournal {
  /** Where the intact data ends: bytes after it are a torn tail unless `damagedAt` is set. */
  readonly goodLength: number
  /** Where damage with intact data after it starts (0: the header is not generation's). */
  readonly damagedAt: number | undefined
}

/**
 * Replays the calls of generation's journal, from its bytes, into `records`: those of the intact
 * frames before any damage, each frame applied as it is parsed (so a journal's parsed calls are
 * never all held at once).
 */
export function readJournal(path: string, bytes: Buffer, generation: number, records: Records): ReadJournal {
  let damagedAt: number | undefined
  let scanned: ScannedFrames
  try {
    scanned = scanFrames(bytes, (offset) => damagedFile(path, offset))
  } catch (error) {
    if (!(error instanceof StorageError) || error.offset === undefined) throw error
    damagedAt = error.offset
    // Up to the damage every frame is intact.
    scanned = scanFrames(bytes.subarray(0, damagedAt), (offset) => damagedFile(path, offset))
  }
  const frames = scanned.frames
  const header = frames[0] === undefined ? undefined : parse<JournalHeader>(frames[0].payload)
  if (header?.kind !== 'journal' || header.generation !== generation) return { goodLength: 0, damagedAt: 0 }
  for (let i = 1; i < frames.length; i++) {
    const found = frames[i]!
    const calls = parse<unknown[][]>(found.payload)
    if (!Array.isArray(calls)) return { goodLength: found.offset, damagedAt: found.offset }
    for (let c = 0; c < calls.length; c++) replayCall(records, calls[c]!)
  }
  return { goodLength: damagedAt ?? scanned.goodLength, damagedAt }
}

/** The error for damage at `offset` of a journal: intact data follows it. */
function damagedFile(path: string, offset: number): never {
  throw new StorageError(
    `${path} is damaged at byte offset ${offset}: intact data follows, so this is not a torn tail and nothing was skipped. ` +
      'Restore the directory from a backup, or open it once with fileStorage({ dir, repair: true }) to move the damaged files ' +
      'into a repair-<time>/ folder inside the directory and keep what is intact',
    { path, offset },
  )
}

function parse<T>(payload: Buffer): T | undefined {
  try {
    // Journals are mostly ASCII: checking that is cheaper than UTF-8 decoding, and latin1 of
    // ASCII is a plain copy.
    return JSON.parse(isAscii(payload) ? payload.toString('latin1') : payload.toString('utf8')) as T
  } catch {
    return undefined
  }
}
