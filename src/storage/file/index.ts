/**
 * File storage: the state lives in memory and every committed call is appended to a journal of
 * checksummed frames, with group commit (all calls made while a flush is pending share one
 * write and one fsync). A snapshot plus a fresh journal replaces the old journal when it grows.
 *
 * Files in `dir`: `LOCK` (owner pid, host and token), `snapshot` (one frame: the whole state and
 * its generation), `journal-<generation>.log` (a header frame, then one frame per flush: the list
 * of committed calls, each a list of mutations), and `repair-<time>/` folders holding the damaged
 * files a `repair: true` open set aside.
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import { Records } from '../records.js'
import { NAMESPACES } from '../types.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from '../types.js'
import { lockDirectory } from './dir-lock.js'
import { closeQuietly, fileError, fsyncDirectory, readIfExists, unlinkQuietly, writeAll, writeAllSync, writeFileDurably } from './durable-io.js'
import { frame, frameAt, scanFrames } from './frame.js'
import type { ScannedFrames } from './frame.js'
import { makePrivateDir } from './private-dir.js'
import { DamagedFiles } from './repair.js'
import { resolveOptions } from './options.js'
import type { FileStorageOptions, ResolvedOptions } from './options.js'

export type { FileStorageOptions } from './options.js'
export type { FileStats, FileSystem } from './fs.js'

const FORMAT_VERSION = 1

/**
 * Durable local storage in a directory: survives kill -9 and power cuts (with the default
 * `durability: 'fsync'`). Node only (`celeriac/node`).
 *
 * @example
 * import { Celeriac, fileStorage } from 'celeriac/node'
 * const app = new Celeriac({ storage: fileStorage({ dir: './.jobs' }) })
 */
export function fileStorage(options: FileStorageOptions): Storage {
  return new FileStorage(resolveOptions(options))
}

interface Pending {
  readonly bytes: string
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

interface SnapshotPayload {
  kind: 'snapshot'
  version: number
  generation: number
  data: Partial<Record<Namespace, Array<[string, StoredValue]>>>
}

interface JournalHeader {
  kind: 'journal'
  version: number
  generation: number
}

class FileStorage implements Storage {
  readonly name = 'file'
  readonly capabilities = { durable: true, shared: false } as const
  readonly #options: ResolvedOptions
  #records = new Records()
  #open = false
  #unlock: (() => void) | undefined
  #fd = -1
  #generation = 0
  #journalBytes = 0
  #snapshotBytes = 0
  #queue: Pending[] = []
  #flushing = false
  #flushScheduled = false
  #failure: StorageError | undefined
  #idle: Array<() => void> = []

  constructor(options: ResolvedOptions) {
    this.#options = options
  }

  /** @internal for tests and benchmarks: the journal's path and size. */
  get journal(): { path: string; bytes: number } {
    return { path: this.#journalPath(this.#generation), bytes: this.#journalBytes }
  }

  async open(): Promise<void> {
    if (this.#open) throw new StorageError(`File storage ${this.#options.dir} is already open`)
    const { dir, fs, onWarning, takeOverLockFrom } = this.#options
    makePrivateDir(fs, dir, onWarning)
    this.#unlock = lockDirectory(dir, { fs, onWarning, takeOverLockFrom })
    try {
      this.#recover()
    } catch (error) {
      this.#unlock()
      this.#unlock = undefined
      if (this.#fd >= 0) closeQuietly(fs, this.#fd)
      this.#fd = -1
      throw error instanceof StorageError ? error : fileError(`Cannot open the storage directory ${dir}`, dir, error)
    }
    this.#failure = undefined
    this.#open = true
  }

  async close(): Promise<void> {
    if (!this.#open) return
    this.#open = false
    if (this.#queue.length > 0 || this.#flushing) await new Promise<void>((done) => this.#idle.push(done))
    if (this.#fd >= 0) closeQuietly(this.#options.fs, this.#fd)
    this.#fd = -1
    this.#unlock?.()
    this.#unlock = undefined
    this.#records = new Records()
  }

  // After a failure the in-memory state holds writes the disk may not: reads are refused too.
  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    if (!this.#open) return this.#closed()
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return Promise.resolve(this.#records.get(ns, key))
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    if (!this.#open) return this.#closed()
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return Promise.resolve(this.#records.entries(ns))
  }

  write(mutations: readonly Mutation[]): Promise<void> {
    if (!this.#open) return this.#closed()
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    try {
      this.#records.check(mutations)
    } catch (error) {
      return Promise.reject(error)
    }
    if (mutations.length === 0) return Promise.resolve()
    return this.#commit(mutations)
  }

  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R> {
    if (!this.#open) return this.#closed()
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    let out: TransactStep<R>
    try {
      const values = keys.map((k) => this.#records.get(k.ns, k.key))
      out = step(values)
      this.#records.check(out.mutations)
    } catch (error) {
      return Promise.reject(error)
    }
    if (out.mutations.length === 0) return Promise.resolve(out.result)
    return this.#commit(out.mutations).then(() => out.result)
  }

  // ---- commit ----------------------------------------------------------------------------

  /**
   * Applies the mutations to the in-memory state now (so the next read and transact see them:
   * that is what makes transact atomic) and resolves once the journal frame holding them is
   * durable. Serializing here, synchronously, also freezes the value as it was at the call.
   */
  #commit(mutations: readonly Mutation[]): Promise<void> {
    const bytes = JSON.stringify(mutations)
    this.#records.apply(mutations)
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, resolve, reject })
      this.#scheduleFlush()
    })
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return
    this.#flushScheduled = true
    const run = (): void => {
      this.#flushScheduled = false
      this.#flush()
    }
    if (this.#options.commitWindow > 0) setTimeout(run, this.#options.commitWindow)
    else setImmediate(run)
  }

  #flush(): void {
    if (this.#queue.length === 0) return this.#settleIdle()
    const batch = this.#queue
    this.#queue = []
    this.#flushing = true
    let payload = '['
    for (let i = 0; i < batch.length; i++) payload += (i === 0 ? '' : ',') + batch[i]!.bytes
    payload += ']'
    const buffer = frame(Buffer.from(payload, 'utf8'))
    const done = (error: Error | null): void => {
      this.#flushing = false
      if (error !== null) return this.#fail(batch, error)
      this.#journalBytes += buffer.length
      for (const pending of batch) pending.resolve()
      if (this.#shouldCompact()) {
        try {
          this.#compact()
        } catch (compactError) {
          return this.#fail([], compactError as Error, 'its snapshot')
        }
      }
      if (this.#queue.length > 0) this.#scheduleFlush()
      else this.#settleIdle()
    }
    const { fs } = this.#options
    writeAll(fs, this.#fd, buffer, (writeError) => {
      if (writeError !== null || this.#options.durability === 'write') return done(writeError)
      fs.fdatasync(this.#fd, done)
    })
  }

  /**
   * The disk failed: the in-memory state now holds writes the disk may not, so every write from
   * here on is refused with the same error until the store is reopened (and reads the disk again).
   */
  #fail(batch: readonly Pending[], cause: Error, what = 'its journal'): void {
    const { dir } = this.#options
    const failure = fileError(`File storage ${dir} failed to write ${what}`, dir, cause)
    this.#failure = new StorageError(`${failure.message}; every write is refused until the storage is opened again (restart the app)`, {
      cause,
      path: dir,
    })
    for (const pending of [...batch, ...this.#queue]) pending.reject(this.#failure)
    this.#queue = []
    this.#settleIdle()
  }

  #settleIdle(): void {
    const waiters = this.#idle
    this.#idle = []
    for (const resolve of waiters) resolve()
  }

  // ---- snapshot and compaction -------------------------------------------------------------

  #shouldCompact(): boolean {
    return this.#journalBytes > this.#options.compactBytes && this.#journalBytes > this.#snapshotBytes
  }

  /**
   * Writes the whole state as the next generation's snapshot and starts that generation's
   * journal. Crash-safe at every step: until the rename, the old snapshot and journal are the
   * truth (the new journal is empty and removed on open); after it, the new ones are.
   */
  #compact(): void {
    const { dir, fs } = this.#options
    const next = this.#generation + 1
    const snapshot = frame(Buffer.from(JSON.stringify(this.#snapshotPayload(next)), 'utf8'))
    const tmp = join(dir, 'snapshot.tmp')
    writeFileDurably(fs, tmp, snapshot)
    const journalFd = this.#createJournal(next)
    try {
      fs.renameSync(tmp, join(dir, 'snapshot'))
      fsyncDirectory(fs, dir)
    } catch (error) {
      closeQuietly(fs, journalFd)
      throw error
    }
    closeQuietly(fs, this.#fd)
    this.#fd = journalFd
    unlinkQuietly(fs, this.#journalPath(this.#generation))
    this.#generation = next
    this.#snapshotBytes = snapshot.length
  }

  #snapshotPayload(generation: number): SnapshotPayload {
    return { kind: 'snapshot', version: FORMAT_VERSION, generation, data: this.#records.nonEmpty() }
  }

  /** Creates `journal-<generation>.log` holding only its header frame, durably; returns its fd. */
  #createJournal(generation: number): number {
    const path = this.#journalPath(generation)
    const bytes = journalHeader(generation)
    const { fs } = this.#options
    const fd = fs.openSync(path, 'w', 0o600)
    try {
      writeAllSync(fs, fd, bytes)
      fs.fsyncSync(fd)
      fsyncDirectory(fs, this.#options.dir)
    } catch (error) {
      closeQuietly(fs, fd)
      throw error
    }
    this.#journalBytes = bytes.length
    return fd
  }

  // ---- recovery ----------------------------------------------------------------------------

  #recover(): void {
    const { dir } = this.#options
    this.#records = new Records()
    this.#generation = 0
    this.#snapshotBytes = 0
    const damaged = new DamagedFiles(this.#options.fs, dir, this.#options.repair, this.#options.onWarning)
    const journals = this.#journalsOnDisk()
    const snapshotPath = join(dir, 'snapshot')
    const snapshotBytes = readIfExists(this.#options.fs, snapshotPath)
    if (snapshotBytes !== undefined) {
      try {
        const scanned = scanFrames(snapshotBytes, (offset) => this.#corrupt(snapshotPath, offset))
        const snapshot =
          scanned.frames.length === 1 && scanned.goodLength === snapshotBytes.length ? parse<SnapshotPayload>(scanned.frames[0]!.payload) : undefined
        // The snapshot is only ever renamed into place whole, so any damage is corruption.
        if (snapshot?.kind !== 'snapshot') this.#corrupt(snapshotPath, scanned.goodLength)
        if (snapshot.version !== FORMAT_VERSION)
          throw new StorageError(`${snapshotPath} has format version ${String(snapshot.version)}; this celeriac reads version ${FORMAT_VERSION}`)
        this.#generation = snapshot.generation
        this.#snapshotBytes = snapshotBytes.length
        for (const ns of NAMESPACES) {
          const map = this.#records.map(ns)
          for (const [key, value] of snapshot.data[ns] ?? []) map.set(key, value)
        }
      } catch (error) {
        if (!(error instanceof StorageError) || error.offset === undefined || !damaged.repairing) throw error
        // Every journal continues some snapshot: with this one damaged, none of them can be
        // applied. Repair sets them all aside and starts empty.
        damaged.found(snapshotPath, `is damaged at byte offset ${error.offset}`, error.offset, [...journals.values()])
        this.#records = new Records()
        journals.clear()
      }
    }
    this.#settleOtherJournals(journals, snapshotBytes !== undefined, damaged)
    this.#replayJournal(damaged)
  }

  /** The journals in the directory by generation (and a temp snapshot left by a compaction cut short, removed). */
  #journalsOnDisk(): Map<number, string> {
    const { dir, fs } = this.#options
    const journals = new Map<number, string>()
    for (const name of fs.readdirSync(dir)) {
      const match = /^journal-(\d+)\.log$/.exec(name)
      if (match !== null) journals.set(Number(match[1]), join(dir, name))
      // Written before the rename that would have made it the snapshot: never the truth yet.
      if (name === 'snapshot.tmp') unlinkQuietly(fs, join(dir, name))
    }
    return journals
  }

  /**
   * Journals of other generations than the snapshot's are what a compaction cut short leaves (see
   * #compact): the previous one once the new snapshot is in place (the snapshot holds all of it),
   * and the next one, holding at most its header, before. Those are removed; any other is damage
   * (a journal without its snapshot, or a snapshot from elsewhere), and is refused or set aside.
   */
  #settleOtherJournals(journals: Map<number, string>, hasSnapshot: boolean, damaged: DamagedFiles): void {
    const { fs } = this.#options
    const generation = this.#generation
    for (const [other, path] of journals) {
      if (other === generation) continue
      journals.delete(other)
      if (hasSnapshot && other === generation - 1) {
        unlinkQuietly(fs, path)
        continue
      }
      if (other === generation + 1 && journals.has(generation)) {
        const bytes = readIfExists(fs, path)
        if (bytes === undefined || bytes.length <= journalHeader(other).length) {
          unlinkQuietly(fs, path)
          continue
        }
      }
      damaged.found(
        path,
        hasSnapshot
          ? `does not belong to the snapshot, which is generation ${generation} (it expects journal-${generation}.log)`
          : `belongs to generation ${other}, which starts from a snapshot, and the snapshot is missing`,
      )
    }
  }

  /**
   * Replays the snapshot's journal. A missing journal is a fresh store (generation 0, no snapshot)
   * or damage. A journal whose header frame is not intact is a journal whose creation was cut
   * short only if it is no longer than its header (no call can follow it) and starts a fresh store
   * (a compaction makes the next journal durable before the snapshot that needs it).
   */
  #replayJournal(damaged: DamagedFiles): void {
    const path = this.#journalPath(this.#generation)
    const { fs } = this.#options
    const bytes = readIfExists(fs, path)
    const header = journalHeader(this.#generation)
    if (bytes === undefined) {
      if (this.#snapshotBytes > 0) damaged.found(path, `is missing: the snapshot (generation ${this.#generation}) is continued by it`)
      this.#fd = this.#createJournal(this.#generation)
      return
    }
    if (frameAt(bytes, 0) === undefined && bytes.length <= header.length && this.#snapshotBytes === 0) {
      if (bytes.length > 0) this.#options.onWarning(`${path}: the journal's header was incomplete (a crash while creating it); starting it again`)
      this.#fd = this.#createJournal(this.#generation)
      return
    }
    const { commits, goodLength, damagedAt } = this.#readJournal(path, bytes)
    if (damagedAt !== undefined) {
      const intactUpTo = damagedAt === 0 ? 0 : goodLength
      damaged.found(
        path,
        damagedAt === 0
          ? `is damaged at byte offset 0: its header frame is not an intact header of generation ${this.#generation}`
          : `is damaged at byte offset ${damagedAt}: intact data follows, so this is not a torn tail and nothing was skipped`,
        damagedAt,
      )
      // Repairing: the file was moved aside whole; its intact frames before the damage are kept.
      for (const mutations of commits.flat()) this.#records.apply(mutations)
      if (intactUpTo === 0) this.#fd = this.#createJournal(this.#generation)
      else {
        writeFileDurably(fs, path, bytes.subarray(0, intactUpTo))
        fsyncDirectory(fs, this.#options.dir)
        this.#fd = fs.openSync(path, 'a', 0o600)
        this.#journalBytes = intactUpTo
      }
      return
    }
    for (const mutations of commits.flat()) this.#records.apply(mutations)
    this.#fd = fs.openSync(path, 'a', 0o600)
    fs.chmodSync(path, 0o600)
    if (goodLength < bytes.length) {
      this.#options.onWarning(
        `${path}: cut off a torn tail of ${bytes.length - goodLength} bytes at offset ${goodLength} ` +
          '(a write the process did not finish before it stopped; no call that had resolved is lost)',
      )
      fs.ftruncateSync(this.#fd, goodLength)
      fs.fsyncSync(this.#fd)
    }
    this.#journalBytes = goodLength
  }

  /**
   * The calls of a journal's intact frames, and where its intact data ends: `damagedAt` is where
   * damage with intact data after it starts (or 0 for a bad header); without it, bytes after
   * `goodLength` are a torn tail.
   */
  #readJournal(path: string, bytes: Buffer): { commits: Mutation[][][]; goodLength: number; damagedAt: number | undefined } {
    let damagedAt: number | undefined
    let scanned: ScannedFrames
    try {
      scanned = scanFrames(bytes, (offset) => this.#corrupt(path, offset))
    } catch (error) {
      if (!(error instanceof StorageError) || error.offset === undefined) throw error
      damagedAt = error.offset
      // Up to the damage every frame is intact.
      scanned = scanFrames(bytes.subarray(0, damagedAt), (offset) => this.#corrupt(path, offset))
    }
    const commits: Mutation[][][] = []
    const frames = scanned.frames
    const header = frames[0] === undefined ? undefined : parse<JournalHeader>(frames[0].payload)
    if (header?.kind !== 'journal' || header.generation !== this.#generation) return { commits, goodLength: 0, damagedAt: 0 }
    for (let i = 1; i < frames.length; i++) {
      const found = frames[i]!
      const parsed = parse<Mutation[][]>(found.payload)
      if (!Array.isArray(parsed)) return { commits, goodLength: found.offset, damagedAt: found.offset }
      commits.push(parsed)
    }
    return { commits, goodLength: damagedAt ?? scanned.goodLength, damagedAt }
  }

  #corrupt(path: string, offset: number): never {
    throw new StorageError(
      `${path} is damaged at byte offset ${offset}: intact data follows, so this is not a torn tail and nothing was skipped. ` +
        'Restore the directory from a backup, or open it once with fileStorage({ dir, repair: true }) to move the damaged files ' +
        'into a repair-<time>/ folder inside the directory and keep what is intact',
      { path, offset },
    )
  }

  // ---- helpers -------------------------------------------------------------------------------

  #journalPath(generation: number): string {
    return join(this.#options.dir, `journal-${generation}.log`)
  }

  #closed<T>(): Promise<T> {
    return Promise.reject(new StorageError(`File storage ${this.#options.dir} is not open: start the app first (await app.start())`))
  }
}

/** The header frame of generation's journal. */
function journalHeader(generation: number): Buffer {
  const header: JournalHeader = { kind: 'journal', version: FORMAT_VERSION, generation }
  return frame(Buffer.from(JSON.stringify(header), 'utf8'))
}

function parse<T>(payload: Buffer): T | undefined {
  try {
    return JSON.parse(payload.toString('utf8')) as T
  } catch {
    return undefined
  }
}
