/**
 * File storage: the state lives in memory and every committed call is appended to a journal of
 * checksummed frames, with group commit (all calls made while a flush is pending share one
 * write and one fsync). A snapshot plus a fresh journal replaces the old journal when it grows.
 *
 * Files in `dir`: `LOCK` (owner pid), `snapshot` (one frame: the whole state and its generation),
 * `journal-<generation>.log` (a header frame, then one frame per flush: the list of committed
 * calls, each a list of mutations).
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import { Records } from '../records.js'
import { NAMESPACES } from '../types.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from '../types.js'
import { lockDirectory } from './dir-lock.js'
import { closeQuietly, fileError, fsyncDirectory, readIfExists, unlinkQuietly, writeAll, writeAllSync, writeFileDurably } from './durable-io.js'
import { frame, scanFrames } from './frame.js'
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
    const { dir, fs } = this.#options
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw fileError(`Cannot create the storage directory ${dir}`, dir, error)
    }
    this.#unlock = lockDirectory(fs, dir)
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
    const header: JournalHeader = { kind: 'journal', version: FORMAT_VERSION, generation }
    const bytes = frame(Buffer.from(JSON.stringify(header), 'utf8'))
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
    const snapshotPath = join(dir, 'snapshot')
    const snapshotBytes = readIfExists(this.#options.fs, snapshotPath)
    if (snapshotBytes !== undefined) {
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
    }
    // Leftovers of a compaction cut short: journals of other generations and a temp snapshot.
    for (const name of this.#options.fs.readdirSync(dir)) {
      const match = /^journal-(\d+)\.log$/.exec(name)
      if ((match !== null && Number(match[1]) !== this.#generation) || name === 'snapshot.tmp') unlinkQuietly(this.#options.fs, join(dir, name))
    }
    this.#replayJournal()
  }

  #replayJournal(): void {
    const path = this.#journalPath(this.#generation)
    const { fs } = this.#options
    const bytes = readIfExists(fs, path)
    if (bytes === undefined || bytes.length === 0) {
      this.#fd = this.#createJournal(this.#generation)
      return
    }
    const scanned = scanFrames(bytes, (offset) => this.#corrupt(path, offset))
    if (scanned.frames.length === 0) {
      // Even the header was torn: the journal was being created when the process died.
      this.#options.onWarning(`${path}: the journal's header was incomplete (a crash while creating it); starting it again`)
      this.#fd = this.#createJournal(this.#generation)
      return
    }
    const header = parse<JournalHeader>(scanned.frames[0]!.payload)
    if (header?.kind !== 'journal' || header.generation !== this.#generation) this.#corrupt(path, 0)
    for (let i = 1; i < scanned.frames.length; i++) {
      const found = scanned.frames[i]!
      const commits = parse<Mutation[][]>(found.payload)
      if (!Array.isArray(commits)) this.#corrupt(path, found.offset)
      for (const mutations of commits) this.#records.apply(mutations)
    }
    this.#fd = fs.openSync(path, 'a', 0o600)
    fs.chmodSync(path, 0o600)
    if (scanned.goodLength < bytes.length) {
      this.#options.onWarning(
        `${path}: cut off a torn tail of ${bytes.length - scanned.goodLength} bytes at offset ${scanned.goodLength} ` +
          '(a write the process did not finish before it stopped; no call that had resolved is lost)',
      )
      fs.ftruncateSync(this.#fd, scanned.goodLength)
      fs.fsyncSync(this.#fd)
    }
    this.#journalBytes = scanned.goodLength
  }

  #corrupt(path: string, offset: number): never {
    throw new StorageError(
      `${path} is damaged at byte offset ${offset}: intact data follows, so this is not a torn tail and nothing was skipped. ` +
        'Restore the directory from a backup, or move the file away to start empty',
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

function parse<T>(payload: Buffer): T | undefined {
  try {
    return JSON.parse(payload.toString('utf8')) as T
  } catch {
    return undefined
  }
}
