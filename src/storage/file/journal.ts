/**
 * The journal file `journal-<generation>.log`: a header frame, then one frame per flush holding
 * the list of committed calls, each a list of mutations. Created, and read back on open, here;
 * appended to by the storage (index.ts).
 *
 * Version 2 (written now): a frame is `[synced, ...calls]`, `synced` being the journal's length
 * the last completed fdatasync covered when the frame was made. Frames are written while an
 * fdatasync is in flight, so a power cut can leave several frames of the tail half on disk, in
 * any order (a hole, then an intact frame). Damage at `offset` followed only by frames whose
 * `synced` is at most `offset` lies where no fdatasync had reached when they were written: a torn
 * tail, like a half-written last frame. An intact frame after it that says the damaged bytes had
 * been synced makes it corruption. Version 1 (`[...calls]`, one frame unsynced at a time) is
 * still read: there any damage followed by an intact frame is corruption.
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import type { Mutation } from '../types.js'
import { closeQuietly, fsyncDirectory, writeAllSync } from './durable-io.js'
import { frameAt, frameText, nextIntactFrame, scanFrames } from './frame.js'
import type { ScannedFrames } from './frame.js'
import type { FileSystem } from './fs.js'

const JOURNAL_VERSION = 2

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

/** What {@link readJournal} found. */
export interface ReadJournal {
  /** The calls of the intact frames before any damage, flush by flush. */
  readonly commits: Mutation[][][]
  /** Where the intact data ends: bytes after it are a torn tail unless `damagedAt` is set. */
  readonly goodLength: number
  /** Where damage with intact data after it starts (0: the header is not generation's). */
  readonly damagedAt: number | undefined
}

/** Reads the calls of generation's journal from its bytes. */
export function readJournal(path: string, bytes: Buffer, generation: number): ReadJournal {
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
  const commits: Mutation[][][] = []
  const frames = scanned.frames
  const header = frames[0] === undefined ? undefined : parse<JournalHeader>(frames[0].payload)
  if (header?.kind !== 'journal' || header.generation !== generation) return { commits, goodLength: 0, damagedAt: 0 }
  if (header.version !== 1 && header.version !== JOURNAL_VERSION) {
    throw new StorageError(
      `${path} has format version ${String(header.version)}; this celeriac reads versions 1 and ${JOURNAL_VERSION}: open it with a newer celeriac`,
      { path },
    )
  }
  const marked = header.version === JOURNAL_VERSION
  for (let i = 1; i < frames.length; i++) {
    const found = frames[i]!
    const calls = callsOf(found.payload, marked)
    if (calls === undefined) return { commits, goodLength: found.offset, damagedAt: found.offset }
    commits.push(calls)
  }
  // Damage that no fdatasync had reached when the frames after it were written: a torn tail.
  if (damagedAt !== undefined && marked && unsyncedAfter(bytes, damagedAt)) return { commits, goodLength: damagedAt, damagedAt: undefined }
  return { commits, goodLength: damagedAt ?? scanned.goodLength, damagedAt }
}

/** A frame's calls (after its `synced` mark in version 2), or undefined if it is not a journal frame. */
function callsOf(payload: Buffer, marked: boolean): Mutation[][] | undefined {
  const parsed = parse<unknown[]>(payload)
  if (!Array.isArray(parsed)) return undefined
  if (!marked) return parsed as Mutation[][]
  return typeof parsed[0] === 'number' ? (parsed.slice(1) as Mutation[][]) : undefined
}

/** Whether every intact frame after the damage at `offset` was written before any fdatasync reached it. */
function unsyncedAfter(bytes: Buffer, offset: number): boolean {
  for (let at = nextIntactFrame(bytes, offset); at !== undefined; ) {
    const found = frameAt(bytes, at)!
    const synced = parse<unknown[]>(found.payload)?.[0]
    if (typeof synced !== 'number' || synced > offset) return false
    at = frameAt(bytes, found.end) !== undefined ? found.end : nextIntactFrame(bytes, found.end)
  }
  return true
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
    return JSON.parse(payload.toString('utf8')) as T
  } catch {
    return undefined
  }
}
