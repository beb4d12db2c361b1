/**
 * The snapshot file, written and read record by record: no string or buffer holds the whole
 * state, and writing gives the event loop a turn between chunks.
 *
 * Format (version 3), a sequence of frames (frame.ts), each a JSON payload:
 *
 *   {"kind":"snapshot","version":3,"generation":7}
 *   {"kind":"records","ns":"messages","records":[[key,value],value,...]}    many, one namespace each
 *   {"kind":"end","records":1234}                                     the count of records above
 *
 * A record is a `[key, value]` pair, or, when the value is a plain object whose own `id` is the
 * key (keyed-by-id.ts), the value alone (an object, never an array): its key is `value.id`.
 * A records frame holds at most `chunkBytes` of JSON, unless one record alone is bigger (it then
 * has a frame of its own). A later record for a key replaces an earlier one (see FrozenRecords).
 * Version 2 (pairs only) and version 1, one frame
 * `{"kind":"snapshot","version":1,"generation","data":{ns:[[key,value]]}}`, are still read, so a
 * directory written before keeps opening.
 */
import { StorageError } from '../../core/model/errors.js'
import { NAMESPACES } from '../types.js'
import type { Namespace, StoredValue } from '../types.js'
import { closeQuietly, fileError, writeAll } from './durable-io.js'
import { frame, parsePayload } from './frame.js'
import { FrameReader } from './frame-reader.js'
import type { FrozenRecord } from './frozen-records.js'
import type { FileSystem } from './fs.js'
import { idOf, keyedById } from './keyed-by-id.js'

/** The version this code writes; it reads this one, 2 (no record keyed by its id) and 1. */
const SNAPSHOT_VERSION = 3

/**
 * The file steps of writing, placing and reading a snapshot, so that another file layer (or a
 * test) can stand in. The writing ones are asynchronous: a compaction runs while calls go on.
 */
export interface SnapshotFiles {
  /** Creates or truncates a 0600 file for writing. */
  create(path: string): Promise<number>
  /** Writes all of `bytes` at the descriptor's position. */
  write(fd: number, bytes: Buffer): Promise<void>
  sync(fd: number): Promise<void>
  close(fd: number): Promise<void>
  /** Renames `from` to `to`, replacing it. */
  rename(from: string, to: string): Promise<void>
  /** Makes the directory's entries (a rename in it) durable. */
  syncDirectory(dir: string): Promise<void>
  /** Removes a file (a replaced journal: a big one takes the kernel a while); one already gone is no error. */
  remove(path: string): Promise<void>
  /** Opens a file for reading; undefined when it does not exist. */
  openForReading(path: string): number | undefined
  /** `readSync` at a position: the bytes read, 0 at the end. */
  readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): number
  closeAfterReading(fd: number): void
}

const settle =
  <T>(resolve: (value: T) => void, reject: (error: Error) => void) =>
  (error: Error | null, value?: T): void =>
    error === null ? resolve(value as T) : reject(error)

/** The snapshot's file steps over the storage's {@link FileSystem} (so a faulty one fails them too). */
export function snapshotFiles(fs: FileSystem): SnapshotFiles {
  const files: SnapshotFiles = {
    create: (path) => new Promise((resolve, reject) => fs.open(path, 'w', 0o600, settle(resolve, reject))),
    write: (fd, bytes) => new Promise((resolve, reject) => writeAll(fs, fd, bytes, settle(resolve, reject))),
    sync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, settle(resolve, reject))),
    close: (fd) => new Promise((resolve, reject) => fs.close(fd, settle(resolve, reject))),
    rename: (from, to) => new Promise((resolve, reject) => fs.rename(from, to, settle(resolve, reject))),
    async syncDirectory(dir) {
      const fd = await new Promise<number>((resolve, reject) => fs.open(dir, 'r', 0, settle(resolve, reject)))
      try {
        await files.sync(fd)
      } finally {
        await files.close(fd)
      }
    },
    remove: (path) =>
      new Promise((resolve, reject) =>
        fs.unlink(path, (error) => (error === null || (error as NodeJS.ErrnoException).code === 'ENOENT' ? resolve() : reject(error))),
      ),
    openForReading(path) {
      try {
        return fs.openSync(path, 'r')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw fileError(`Cannot read ${path}`, path, error)
      }
    },
    readAt: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
    closeAfterReading: (fd) => closeQuietly(fs, fd),
  }
  return files
}

/** What {@link writeSnapshot} needs besides the records. */
export interface SnapshotWriting {
  readonly files: SnapshotFiles
  /** The most JSON bytes in one records frame (one bigger record gets a frame of its own). */
  readonly chunkBytes: number
  /** Stops the writing between two frames; it then rejects with the signal's reason. */
  readonly signal: AbortSignal
}

/** What a finished snapshot holds. */
export interface WrittenSnapshot {
  readonly bytes: number
  readonly records: number
  readonly frames: number
}

/**
 * Writes `records` to a new file at `path`, chunk by chunk, and fsyncs it: the caller renames it
 * into place. Each chunk is serialized while the previous one is being written, and the event
 * loop runs between chunks. On failure the file is left for the caller to remove.
 */
export async function writeSnapshot(
  path: string,
  generation: number,
  records: Iterable<FrozenRecord>,
  { files, chunkBytes, signal }: SnapshotWriting,
): Promise<WrittenSnapshot> {
  signal.throwIfAborted()
  const fd = await files.create(path)
  let writing: Promise<void> = Promise.resolve()
  let bytes = 0
  let frames = 0
  const put = async (payload: Buffer): Promise<void> => {
    const framed = frame(payload)
    // One write in flight at a time: the next chunk is serialized meanwhile.
    await writing
    signal.throwIfAborted()
    writing = files.write(fd, framed)
    bytes += framed.length
    frames++
  }
  const text = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8')
  try {
    await put(text({ kind: 'snapshot', version: SNAPSHOT_VERSION, generation }))
    const chunk = new Chunk(chunkBytes)
    let count = 0
    for (const [ns, key, value] of records) {
      const pair = keyedById(key, value) ? JSON.stringify(value) : JSON.stringify([key, value])
      if (!chunk.add(ns, pair)) {
        const full = chunk.take()
        if (full !== undefined) await put(full)
        if (!chunk.add(ns, pair)) await put(Chunk.alone(ns, pair))
      }
      count++
    }
    const last = chunk.take()
    if (last !== undefined) await put(last)
    await put(text({ kind: 'end', records: count }))
    await writing
    await files.sync(fd)
    return { bytes, records: count, frames }
  } finally {
    // A failed write must not go unheard, nor the descriptor close under one in flight.
    await writing.catch(() => undefined)
    await files.close(fd).catch(() => undefined)
  }
}

/**
 * The payload of one records frame, serialized straight into a buffer of the bound's size: no
 * string of the chunk is ever built, nor a record's bytes counted twice.
 */
class Chunk {
  static readonly #tail = Buffer.from(']}')
  readonly #limit: number
  readonly #buffer: Buffer
  #length = 0
  #ns: Namespace | undefined

  constructor(limit: number) {
    this.#limit = limit
    this.#buffer = Buffer.allocUnsafe(limit)
  }

  static #head(ns: Namespace): string {
    return `{"kind":"records","ns":${JSON.stringify(ns)},"records":[`
  }

  /** A frame's payload holding just one record, bigger than the bound. */
  static alone(ns: Namespace, pair: string): Buffer {
    return Buffer.from(`${Chunk.#head(ns)}${pair}]}`, 'utf8')
  }

  /** Adds the JSON of a record of `ns` (a `[key,value]` pair or a value keyed by its id); false when it does not fit or `ns` is another namespace. */
  add(ns: Namespace, pair: string): boolean {
    const empty = this.#ns === undefined
    if (!empty && ns !== this.#ns) return false
    const head = empty ? Chunk.#head(ns) : ','
    const room = this.#limit - this.#length - head.length - Chunk.#tail.length
    // At most 3 UTF-8 bytes per UTF-16 unit: the exact count only when that bound does not fit.
    if (pair.length * 3 > room && Buffer.byteLength(pair, 'utf8') > room) return false
    this.#length += this.#buffer.write(head, this.#length, 'latin1')
    this.#length += this.#buffer.write(pair, this.#length, 'utf8')
    this.#ns = ns
    return true
  }

  /** The finished payload, or undefined when empty; the chunk starts again empty. */
  take(): Buffer | undefined {
    if (this.#ns === undefined) return undefined
    this.#length += Chunk.#tail.copy(this.#buffer, this.#length)
    const payload = this.#buffer.subarray(0, this.#length)
    // The payload is framed (copied) before the next add; a new buffer would be as good.
    this.#ns = undefined
    this.#length = 0
    return payload
  }
}

/** What {@link readSnapshot} found. */
export interface ReadSnapshot {
  readonly generation: number
  readonly bytes: number
}

type Payload =
  | { kind: 'snapshot'; version: number; generation: number; data?: Partial<Record<Namespace, Array<[string, StoredValue]>>> }
  | { kind: 'records'; ns: Namespace; records: unknown[] }
  | { kind: 'end'; records: number }

/**
 * Reads the snapshot at `path` frame by frame, handing each record to `load` (a later one for
 * the same key replaces the earlier). Undefined when there is none. The file is only ever renamed
 * into place whole, so anything short of a whole, intact snapshot goes to `corrupt`, which throws.
 */
export function readSnapshot(
  path: string,
  files: SnapshotFiles,
  load: (ns: Namespace, key: string, value: StoredValue) => void,
  corrupt: (offset: number) => never,
): ReadSnapshot | undefined {
  const fd = files.openForReading(path)
  if (fd === undefined) return undefined
  try {
    const reader = new FrameReader((buffer, offset, length, position) => files.readAt(fd, buffer, offset, length, position))
    const next = (): Payload => {
      const at = reader.offset
      const found = reader.next()
      const payload = found === undefined ? undefined : parsePayload<Payload>(found.payload)
      if (payload === undefined || payload === null || typeof payload !== 'object') return corrupt(at)
      return payload
    }
    const header = next()
    if (header.kind !== 'snapshot') return corrupt(0)
    if (header.version === 1 && header.data !== undefined) {
      if (!reader.atEnd()) corrupt(reader.offset)
      for (const ns of NAMESPACES) for (const [key, value] of header.data[ns] ?? []) load(ns, key, value)
      return { generation: header.generation, bytes: reader.offset }
    }
    if (header.version !== 2 && header.version !== SNAPSHOT_VERSION) {
      throw new StorageError(
        `${path} has format version ${String(header.version)}; this celeriac reads versions 1 to ${SNAPSHOT_VERSION}: open it with a newer celeriac`,
        { path },
      )
    }
    const byId = header.version === SNAPSHOT_VERSION
    let count = 0
    for (;;) {
      const at = reader.offset
      const payload = next()
      if (payload.kind === 'records' && NAMESPACES.includes(payload.ns) && Array.isArray(payload.records)) {
        const { ns, records } = payload
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (Array.isArray(record)) load(ns, record[0] as string, record[1])
          else load(ns, (byId ? idOf(record) : undefined) ?? corrupt(at), record)
        }
        count += records.length
      } else if (payload.kind === 'end' && payload.records === count && reader.atEnd()) {
        return { generation: header.generation, bytes: reader.offset }
      } else {
        corrupt(at)
      }
    }
  } finally {
    files.closeAfterReading(fd)
  }
}
