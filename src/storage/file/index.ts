/**
 * File storage: the state lives in memory and every committed call is appended to a journal of
 * checksummed frames, with group commit (all calls made while a flush is pending share one
 * write and one fsync). A snapshot plus a fresh journal replaces the old journal when it grows.
 *
 * Files in `dir`: `LOCK` (owner pid, host and token), `snapshot` (the state at the start of a
 * generation, in frames of bounded size: snapshot.ts), `journal-<generation>.log` (journal.ts),
 * and `repair-<time>/` folders holding the damaged files a `repair: true` open set aside. While a
 * compaction writes the next snapshot, the journals of its generation and of the one before are
 * both live. Opening (snapshot and journals replayed, damage handled) is recovery.ts.
 */
import { StorageError } from '../../core/model/errors.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep, WriteOptions } from '../types.js'
import { installSnapshot } from './compaction.js'
import type { Compaction } from './compaction.js'
import { lockDirectory } from './dir-lock.js'
import { closeQuietly, fileError, writeAll, writeAllSync } from './durable-io.js'
import { FRAME_ROOM_BYTES, frameItems } from './frame.js'
import { FrozenRecords } from './frozen-records.js'
import { JOURNAL_VERSION, createJournal, journalPath } from './journal.js'
import { bareNamespace, encodeBare, encodeCall } from './journal-calls.js'
import type { Held } from './journal-calls.js'
import { resolveOptions } from './options.js'
import type { FileStorageOptions, ResolvedOptions } from './options.js'
import { fileRecords } from './record-map.js'
import { makePrivateDir } from './private-dir.js'
import { recover } from './recovery.js'

export type { FileStorageOptions } from './options.js'
export type { FileStats, FileSystem } from './fs.js'

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

/** Frames up to this size are written with writeSync (see #flush); more than FRAME_ROOM_BYTES, so a frame made in the storage's room always is. */
const SYNC_WRITE_BYTES = 256 * 1024

interface Pending {
  readonly bytes: string
  /** The namespace of a bare record (journal-calls.ts); undefined for a call. */
  readonly ns: Namespace | undefined
  readonly resolve: () => void
  readonly reject: (error: Error) => void
  /** WriteOptions.onWritten: told once its frame is in the file, before fdatasync. */
  readonly onWritten: (() => void) | undefined
}

/** A compaction writing its snapshot in the background. */
class FileStorage implements Storage {
  readonly name = 'file'
  readonly capabilities = { durable: true, shared: false } as const
  readonly #options: ResolvedOptions
  #records = fileRecords()
  #open = false
  #unlock: (() => void) | undefined
  #fd = -1
  #generation = 0
  #journalBytes = 0
  /** Whether the journal takes bare records: version 3 on (journal.ts). */
  #bare = true
  /** The records as the journal's patches are written over them (version 4, journal-calls.ts); undefined in an older journal. */
  #held: Held | undefined
  #snapshotBytes = 0
  /** Calls not written yet. */
  #queue: Pending[] = []
  /** Where frames written at once are made (frame.ts, frameItems); made at the first. */
  #room: Buffer | undefined
  /** A journal write(2) in flight: one at a time, so frames land in call order. */
  #writing = false
  #flushScheduled = false
  /** Calls whose frame is in the file, waiting for an fdatasync. */
  #unsynced: Pending[] = []
  /** An fdatasync in flight (writes go on meanwhile: the next one covers them). */
  #syncing = false
  /** The journal's length the last completed fdatasync covered: each frame carries it (journal.ts). */
  #syncedBytes = 0
  #failure: StorageError | undefined
  #idle: Array<() => void> = []
  #compaction: Compaction | undefined

  constructor(options: ResolvedOptions) {
    this.#options = options
  }

  /** @internal for tests and benchmarks: the journal's path and size. */
  get journal(): { path: string; bytes: number } {
    return { path: journalPath(this.#options.dir, this.#generation), bytes: this.#journalBytes }
  }

  /** @internal for tests and benchmarks: the compaction under way, settled when it is over. */
  get compaction(): Promise<void> | undefined {
    return this.#compaction?.done
  }

  async open(): Promise<void> {
    if (this.#open) throw new StorageError(`File storage ${this.#options.dir} is already open`)
    const { dir, fs, onWarning, takeOverLockFrom } = this.#options
    makePrivateDir(fs, dir, onWarning)
    const unlock = lockDirectory(dir, { fs, onWarning, takeOverLockFrom })
    try {
      const recovered = recover(this.#options)
      this.#records = recovered.records
      this.#generation = recovered.generation
      this.#fd = recovered.fd
      this.#journalBytes = recovered.journalBytes
      this.#takeVersion(recovered.version)
      this.#syncedBytes = recovered.journalBytes
      this.#snapshotBytes = recovered.snapshotBytes
    } catch (error) {
      unlock()
      throw error instanceof StorageError ? error : fileError(`Cannot open the storage directory ${dir}`, dir, error)
    }
    this.#unlock = unlock
    this.#failure = undefined
    this.#open = true
  }

  async close(): Promise<void> {
    if (!this.#open) return
    this.#open = false
    // The journals hold everything a snapshot would: stop it rather than wait for a big one.
    this.#compaction?.abort.abort()
    if (this.#busy()) await new Promise<void>((done) => this.#idle.push(done))
    await this.#compaction?.done
    if (this.#fd >= 0) closeQuietly(this.#options.fs, this.#fd)
    this.#fd = -1
    this.#unlock?.()
    this.#unlock = undefined
    this.#records = fileRecords()
    this.#room = undefined
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

  write(mutations: readonly Mutation[], options?: WriteOptions): Promise<void> {
    if (!this.#open) return this.#closed()
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    try {
      this.#records.check(mutations)
    } catch (error) {
      return Promise.reject(error)
    }
    if (mutations.length === 0) return Promise.resolve()
    return this.#commit(mutations, options?.onWritten)
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
  #commit(mutations: readonly Mutation[], onWritten?: () => void): Promise<void> {
    const ns = this.#bare ? bareNamespace(mutations) : undefined
    const bytes = ns === undefined ? encodeCall(mutations, this.#held) : encodeBare(mutations)
    this.#compaction?.frozen.keep(mutations)
    this.#records.apply(mutations)
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, ns, resolve, reject, onWritten })
      this.#scheduleFlush()
    })
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#writing) return
    this.#flushScheduled = true
    const run = (): void => {
      this.#flushScheduled = false
      this.#flush()
    }
    if (this.#options.commitWindow > 0) setTimeout(run, this.#options.commitWindow)
    else setImmediate(run)
  }

  /**
   * Writes the queued calls as one frame. It does not wait for an fdatasync in flight: the
   * frame's write(2) is what a kill cannot lose (WriteOptions.onWritten), and the next fdatasync
   * covers every frame written meanwhile, so the disk's flush and the work it lets go overlap.
   */
  #flush(): void {
    if (this.#queue.length === 0) return this.#afterDurable()
    // A compaction switches journals only once nothing is in flight on the old one.
    if (this.#unsyncedWork() && this.#shouldCompact()) return
    const batch = this.#queue
    this.#queue = []
    this.#writing = true
    const fsyncs = this.#options.durability === 'fsync'
    // What the disk is known to hold as this frame is made: recovery tells a crash's hole in
    // the frames after it from damage (journal.ts). Without fsync, nothing is ever known synced:
    // a frame vouches for everything before it, as a frame always did.
    const mark = String(fsyncs ? this.#syncedBytes : this.#journalBytes)
    // A bare record goes into the namespace the frame last named: named again where it changes.
    const items: string[] = []
    let ns: Namespace | undefined
    for (let i = 0; i < batch.length; i++) {
      const pending = batch[i]!
      if (pending.ns !== undefined && pending.ns !== ns) {
        ns = pending.ns
        items.push(JSON.stringify(ns))
      }
      items.push(pending.bytes)
    }
    // A frame made in the room is written at once (it is never over SYNC_WRITE_BYTES) and dropped.
    const buffer = frameItems(mark, items, (this.#room ??= Buffer.allocUnsafe(FRAME_ROOM_BYTES)))
    const { fs } = this.#options
    const written = (writeError: Error | null): void => {
      this.#writing = false
      if (writeError !== null || this.#failure !== undefined) return this.#fail(batch, writeError ?? this.#failure!)
      this.#journalBytes += buffer.length
      // In the file: a kill of this process no longer loses it (a power loss may, until fdatasync).
      for (const pending of batch) pending.onWritten?.()
      if (fsyncs) {
        for (const pending of batch) this.#unsynced.push(pending)
        if (!this.#syncing) this.#sync()
      } else {
        for (const pending of batch) pending.resolve()
      }
      if (this.#queue.length > 0) this.#scheduleFlush()
      else this.#afterDurable()
    }
    // A small frame is copied into the page cache at once: a round trip through the thread pool
    // costs more than the copy, and the runs waiting for their lease (onWritten) start sooner.
    if (buffer.length > SYNC_WRITE_BYTES) return writeAll(fs, this.#fd, buffer, written)
    let error: Error | null = null
    try {
      writeAllSync(fs, this.#fd, buffer)
    } catch (thrown) {
      error = thrown as Error
    }
    written(error)
  }

  /** One fdatasync for every frame written since the last one began; calls resolve when it is done. */
  #sync(): void {
    const batch = this.#unsynced
    this.#unsynced = []
    this.#syncing = true
    const upTo = this.#journalBytes
    this.#options.fs.fdatasync(this.#fd, (error) => {
      this.#syncing = false
      if (error !== null) return this.#fail(batch, error)
      // On disk, even when a later write failed meanwhile (that one refused what followed it).
      for (const pending of batch) pending.resolve()
      if (this.#failure !== undefined) return this.#settleIfQuiet()
      this.#syncedBytes = upTo
      if (this.#unsynced.length > 0) this.#sync()
      else this.#afterDurable()
    })
  }

  /** Nothing in flight on the journal: a compaction may switch to the next one; then what waits goes on. */
  #afterDurable(): void {
    if (this.#writing || this.#unsyncedWork()) return
    if (this.#shouldCompact()) {
      try {
        this.#compact()
      } catch (compactError) {
        // The journal that was to take the calls could not be made: a journal write failed.
        return this.#fail([], compactError as Error, 'a new journal')
      }
    }
    if (this.#queue.length > 0) this.#scheduleFlush()
    else this.#settleIdle()
  }

  /** Whether frames are written but not synced, or being synced. */
  #unsyncedWork(): boolean {
    return this.#syncing || this.#unsynced.length > 0
  }

  /** Whether any call is unwritten, or written and not synced. */
  #busy(): boolean {
    return this.#queue.length > 0 || this.#writing || this.#unsyncedWork()
  }

  /**
   * A journal write failed: the in-memory state now holds writes the disk may not, so every call
   * from here on is refused with the same error until the store is reopened (and reads the disk
   * again). A compaction under way stops: its snapshot would hold those writes too.
   */
  #fail(batch: readonly Pending[], cause: Error, what = 'its journal'): void {
    if (this.#failure !== undefined) {
      // Already failed (a write and an fdatasync were in flight together): the same error.
      for (const pending of batch) pending.reject(this.#failure)
      return this.#settleIfQuiet()
    }
    const { dir } = this.#options
    const failure = fileError(`File storage ${dir} failed to write ${what}`, dir, cause)
    this.#failure = new StorageError(`${failure.message}; every call is refused until the storage is opened again (restart the app)`, {
      cause,
      path: dir,
    })
    this.#compaction?.abort.abort()
    for (const pending of [...batch, ...this.#unsynced, ...this.#queue]) pending.reject(this.#failure)
    this.#queue = []
    this.#unsynced = []
    this.#settleIfQuiet()
  }

  /** After a failure: close() waits only for the calls already on their way to the disk. */
  #settleIfQuiet(): void {
    if (!this.#writing && !this.#syncing) this.#settleIdle()
  }

  #settleIdle(): void {
    const waiters = this.#idle
    this.#idle = []
    for (const resolve of waiters) resolve()
  }

  // ---- snapshot and compaction -------------------------------------------------------------

  #shouldCompact(): boolean {
    if (!this.#open || this.#compaction !== undefined) return false
    return this.#journalBytes > this.#options.compactBytes && this.#journalBytes > this.#snapshotBytes
  }

  /**
   * Starts the next generation: its journal is created (durably) and takes every call from here
   * on, and the state as of this instant is written as its snapshot in the background, chunk by
   * chunk, while calls go on (FrozenRecords keeps what they overwrite). Crash-safe at every step:
   * until the snapshot's rename, the old snapshot and the journals of both generations are the
   * truth (recovery replays them in turn); after it, the new snapshot and the new journal are.
   */
  #compact(): void {
    const { fs, dir } = this.#options
    const next = this.#generation + 1
    const journal = createJournal(fs, dir, next)
    closeQuietly(fs, this.#fd)
    this.#fd = journal.fd
    this.#journalBytes = journal.bytes
    this.#takeVersion(JOURNAL_VERSION)
    this.#syncedBytes = journal.bytes
    this.#generation = next
    const compaction: Compaction = { frozen: new FrozenRecords(this.#records), abort: new AbortController(), done: Promise.resolve() }
    this.#compaction = compaction
    const owner = { failed: () => this.#failure !== undefined, installed: (bytes: number) => (this.#snapshotBytes = bytes) }
    compaction.done = installSnapshot(this.#options, next, compaction, owner).finally(() => {
      this.#compaction = undefined
    })
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** What the journal being appended to takes, by its format version (journal.ts). */
  #takeVersion(version: number): void {
    this.#bare = version >= 3
    this.#held = version >= 4 ? this.#heldNow : undefined
  }

  readonly #heldNow: Held = (ns, key) => this.#records.get(ns, key)

  #closed<T>(): Promise<T> {
    return Promise.reject(new StorageError(`File storage ${this.#options.dir} is not open: start the app first (await app.start())`))
  }
}
