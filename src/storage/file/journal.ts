/**
 * The journal file `journal-<generation>.log`: a header frame, then one frame per flush holding
 * the list of committed calls (journal-calls.ts says how a call is written). Created, and read
 * back on open, here; appended to by the storage (index.ts).
 *
 * Version 2: a frame is `[synced, ...calls]`, `synced` being the journal's length
 * the last completed fdatasync covered when the frame was made. Frames are written while an
 * fdatasync is in flight, so a power cut can leave several frames of the tail half on disk, in
 * any order (a hole, then an intact frame). Damage at `offset` followed only by frames whose
 * `synced` is at most `offset` lies where no fdatasync had reached when they were written: a torn
 * tail, like a half-written last frame. An intact frame after it that says the damaged bytes had
 * been synced, or that carries no mark, makes it corruption. Version 1 frames (`[...calls]`, one
 * frame unsynced at a time) are still read, and a version 1 journal is appended to with marked
 * frames: a frame's first element tells the two apart (a number, never a call, which is a list).
 *
 * Version 3 (written now) is version 2 plus bare records among the calls (journal-calls.ts): a
 * celeriac that reads only versions 1 and 2 refuses it by its header instead of taking a bare
 * record for damage. A version 1 or 2 journal is appended to without bare records (a version 2
 * one stays readable by the celeriac that wrote it); the next compaction's journal is version 3.
 *
 * Version 4 (written now) is version 3 plus patches among a call's mutations (journal-calls.ts).
 * A journal of an earlier version is appended to as that version (no patches in a version 3 one,
 * no bare records either in a version 1 or 2 one); the next compaction's journal is version 4.
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import type { Records } from '../records.js'
import { closeQuietly, fsyncDirectory, readFrom, readingIfExists, writeAllSync } from './durable-io.js'
import { frameAt, frameText, nextIntactFrame, parseArrayPayload, parsePayload } from './frame.js'
import { FrameReader } from './frame-reader.js'
import type { FileSystem } from './fs.js'
import { intactItems, replayItems } from './journal-calls.js'

export const JOURNAL_VERSION = 4

/** How a bare record of a version 3 frame starts, after its comma: where a big frame is cut to be parsed in pieces (frame.ts, parseArrayPayload). */
const BARE_RECORD = Buffer.from(',{"id":"')

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
  return frameText(JSON.stringify(header))
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

/**
 * What {@link readJournal} found: where the intact data ends (`goodLength`; bytes after it up to
 * the file's `length` are a torn tail), or where damage with intact data after it starts
 * (`damagedAt`, 0 when the header is not generation's; the frames before it were replayed).
 */
export type ReadJournal =
  | { readonly damagedAt: undefined; readonly goodLength: number; readonly length: number; readonly version: number }
  | { readonly damagedAt: number; readonly goodLength: number; readonly version: number }

/**
 * Replays the calls of generation's journal into `records`: those of the intact frames before
 * any damage. The file is read frame by frame through a bounded buffer, each frame applied as it
 * is parsed: neither the file nor its parsed calls are ever held whole (a journal of a million
 * calls is hundreds of MiB, and holding it made the collector work harder). A missing file reads
 * as an empty one.
 */
export function readJournal(fs: FileSystem, path: string, generation: number, records: Records): ReadJournal {
  const empty: ReadJournal = { goodLength: 0, damagedAt: 0, version: JOURNAL_VERSION }
  return readingIfExists(fs, path, (fd) => replayFrames(fs, fd, path, generation, records)) ?? empty
}

function replayFrames(fs: FileSystem, fd: number, path: string, generation: number, records: Records): ReadJournal {
  const reader = new FrameReader((buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position))
  const first = reader.next()
  const header = first === undefined ? undefined : parsePayload<JournalHeader>(first.payload)
  // Damage at offset 0 starts the journal again, as one of this version.
  if (header?.kind !== 'journal' || header.generation !== generation) return { goodLength: 0, damagedAt: 0, version: JOURNAL_VERSION }
  const { version } = header
  if (version !== 1 && version !== 2 && version !== 3 && version !== JOURNAL_VERSION) {
    throw new StorageError(
      `${path} has format version ${String(header.version)}; this celeriac reads versions 1 to ${JOURNAL_VERSION}: open it with a newer celeriac`,
      { path },
    )
  }
  const bare = version >= 3
  for (;;) {
    const at = reader.offset
    if (reader.atEnd()) return { length: at, goodLength: at, damagedAt: undefined, version }
    const found = reader.next()
    if (found === undefined) {
      // A frame cut short is a torn tail unless an intact frame after it says the bytes were
      // synced (or, unmarked, vouches for everything before it): then it is corruption.
      const rest = readFrom(fs, fd, at)
      if (nextIntactFrame(rest, 0) !== undefined && !unsyncedAfter(rest, at)) return { goodLength: at, damagedAt: at, version }
      return { goodLength: at, length: at + rest.length, damagedAt: undefined, version }
    }
    // A version 1 or 2 frame holds no bare records: every cut would fall inside a call.
    const items = parseArrayPayload(found.payload, bare ? BARE_RECORD : undefined)
    if (items === undefined) return { goodLength: at, damagedAt: at, version }
    // A version 2 or 3 frame's first element is its synced mark (a number); every other is a
    // call (or, in version 3, a namespace or a bare record). All are checked before any applies:
    // a damaged frame adds nothing to what the intact frames before it left (a repair keeps
    // exactly those).
    const first = typeof items[0] === 'number' ? 1 : 0
    if (!intactItems(items, first, bare)) return { goodLength: at, damagedAt: at, version }
    replayItems(records, items, first)
  }
}

/**
 * Whether every intact frame in `rest` (the journal from the damage at `damagedAt` on) was
 * written before any fdatasync reached the damage: each carries a synced mark at most
 * `damagedAt`.
 */
function unsyncedAfter(rest: Buffer, damagedAt: number): boolean {
  for (let at = nextIntactFrame(rest, 0); at !== undefined; ) {
    const found = frameAt(rest, at)!
    const synced = parsePayload<unknown[]>(found.payload)?.[0]
    if (typeof synced !== 'number' || synced > damagedAt) return false
    at = frameAt(rest, found.end) !== undefined ? found.end : nextIntactFrame(rest, found.end)
  }
  return true
}

/**
 * Whether generation's journal is one whose creation was cut short: no longer than its header
 * (no call can follow it) and without an intact header frame. Its length then (0 when missing).
 */
export function cutShortJournal(fs: FileSystem, path: string, generation: number): number | undefined {
  const limit = journalHeader(generation).length
  const head = readingIfExists(fs, path, (fd) => readFrom(fs, fd, 0, limit + 1)) ?? Buffer.alloc(0)
  return head.length <= limit && frameAt(head, 0) === undefined ? head.length : undefined
}

/** The first `length` bytes of a journal (its intact part, kept by a repair). */
export function journalPrefix(fs: FileSystem, path: string, length: number): Buffer {
  return readingIfExists(fs, path, (fd) => readFrom(fs, fd, 0, length)) ?? Buffer.alloc(0)
}
