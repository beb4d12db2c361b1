/**
 * File storage: the state lives in memory and every committed call is appended to a journal of
 * checksummed frames, with group commit (all calls made while a flush is pending share one
 * write and one fsync). A snapshot plus a fresh journal replaces the old journal when it grows.
 *
 * Files in `dir`: `LOCK` (owner pid), `snapshot` (the state at the start of a generation, in
 * frames of bounded size: snapshot.ts), `journal-<generation>.log` (a header frame, then one frame
 * per flush: the list of committed calls, each a list of mutations). While a compaction writes
 * the next snapshot, the journals of its generation and of the one before are both live.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, ftruncateSync, chmodSync } from 'node:fs'
import { fdatasync as fdatasyncCb } from 'node:fs'
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import { Records } from '../records.js'
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from '../types.js'
import { lockDirectory } from './dir-lock.js'
import { fsyncDirectory, readIfExists, unlinkQuietly, writeAll, writeAllSync } from './durable-io.js'
import { frame, scanFrames } from './frame.js'
import { FrozenRecords } from './frozen-records.js'
import { nodeSnapshotFiles, readSnapshot, writeSnapshot } from './snapshot.js'
import { resolveOptions } from './options.js'
import type { FileStorageOptions, ResolvedOptions } from './options.js'

export type { FileStorageOptions } from './options.js'

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

/** A compaction writing its snapshot in the background. */
interface Compaction {
  readonly frozen: FrozenRecords
  readonly abort: AbortController
  done: Promise<void>
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
  #compaction: Compaction | undefined

  constructor(options: ResolvedOptions) {
    this.#options = options
  }

  /** @internal for tests and benchmarks: the journal's path and size. */
  get journal(): { path: string; bytes: number } {
    return { path: this.#journalPath(this.#generation), bytes: this.#journalBytes }
  }

  /** @internal for tests and benchmarks: the compaction under way, settled when it is over. */
  get compaction(): Promise<void> | undefined {
    return this.#compaction?.done
  }

  async open(): Promise<void> {
    if (this.#open) throw new StorageError(`File storage ${this.#options.dir} is already open`)
    const { dir } = this.#options
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw new StorageError(`Cannot create the storage directory ${dir}: ${(error as Error).message}`, { cause: error })
    }
    this.#unlock = lockDirectory(dir)
    try {
      this.#recover()
    } catch (error) {
      this.#unlock()
      this.#unlock = undefined
      if (this.#fd >= 0) closeSync(this.#fd)
      this.#fd = -1
      throw error
    }
    this.#failure = undefined
    this.#open = true
  }

  async close(): Promise<void> {
    if (!this.#open) return
    this.#open = false
    // The journals hold everything a snapshot would: stop it rather than wait for a big one.
    this.#compaction?.abort.abort()
    if (this.#queue.length > 0 || this.#flushing) await new Promise<void>((done) => this.#idle.push(done))
    await this.#compaction?.done
    if (this.#fd >= 0) closeSync(this.#fd)
    this.#fd = -1
    this.#unlock?.()
    this.#unlock = undefined
    this.#records = new Records()
  }

  get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
    if (!this.#open) return this.#closed()
    return Promise.resolve(this.#records.get(ns, key))
  }

  entries(ns: Namespace): Promise<Array<[string, StoredValue]>> {
    if (!this.#open) return this.#closed()
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
    this.#compaction?.frozen.keep(mutations)
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
          return this.#fail([], compactError as Error)
        }
      }
      if (this.#queue.length > 0) this.#scheduleFlush()
      else this.#settleIdle()
    }
    writeAll(this.#fd, buffer, (writeError) => {
      if (writeError !== null || this.#options.durability === 'write') return done(writeError)
      fdatasyncCb(this.#fd, done)
    })
  }

  #fail(batch: readonly Pending[], cause: Error): void {
    // The in-memory state now holds writes the disk does not: refuse everything from here on.
    this.#failure = new StorageError(`File storage ${this.#options.dir} failed to write its journal: ${cause.message}`, { cause })
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
    const next = this.#generation + 1
    const journalFd = this.#createJournal(next)
    closeSync(this.#fd)
    this.#fd = journalFd
    this.#generation = next
    const compaction: Compaction = { frozen: new FrozenRecords(this.#records), abort: new AbortController(), done: Promise.resolve() }
    this.#compaction = compaction
    compaction.done = this.#writeSnapshot(next, compaction).finally(() => {
      this.#compaction = undefined
    })
  }

  /** Writes, renames into place and makes durable the snapshot of `generation`; then removes the journals it replaces. */
  async #writeSnapshot(generation: number, { frozen, abort }: Compaction): Promise<void> {
    const { dir, snapshotChunkBytes, onWarning } = this.#options
    const files = nodeSnapshotFiles
    const tmp = join(dir, 'snapshot.tmp')
    const fail = (error: unknown): void => {
      if (abort.signal.aborted) return
      onWarning(
        `compacting ${dir} failed: ${(error as Error).message}. Nothing is lost (the journals keep every call); it is tried again when the journal grows`,
      )
    }
    let bytes: number
    try {
      bytes = (await writeSnapshot(tmp, generation, frozen.walk(), { files, chunkBytes: snapshotChunkBytes, signal: abort.signal })).bytes
      await files.rename(tmp, join(dir, 'snapshot'))
    } catch (error) {
      await files.remove(tmp).catch(() => undefined)
      return fail(error)
    }
    try {
      // Until the rename is durable the older journals stay: recovery reads either outcome.
      await files.syncDirectory(dir)
      this.#snapshotBytes = bytes
      for (const name of readdirSync(dir)) {
        const match = /^journal-(\d+)\.log$/.exec(name)
        if (match !== null && Number(match[1]) < generation) await files.remove(join(dir, name))
      }
    } catch (error) {
      // Journals left over are removed on the next open.
      fail(error)
    }
  }

  /** Creates `journal-<generation>.log` holding only its header frame, durably; returns its fd. */
  #createJournal(generation: number): number {
    const path = this.#journalPath(generation)
    const header: JournalHeader = { kind: 'journal', version: FORMAT_VERSION, generation }
    const bytes = frame(Buffer.from(JSON.stringify(header), 'utf8'))
    const fd = openSync(path, 'w', 0o600)
    writeAllSync(fd, bytes)
    fsyncSync(fd)
    fsyncDirectory(this.#options.dir)
    this.#journalBytes = bytes.length
    return fd
  }

  // ---- recovery ----------------------------------------------------------------------------

  #recover(): void {
    const { dir } = this.#options
    this.#records = new Records()
    this.#snapshotBytes = 0
    const snapshotPath = join(dir, 'snapshot')
    const map = (ns: Namespace): Map<string, StoredValue> => this.#records.map(ns)
    const snapshot = readSnapshot(
      snapshotPath,
      nodeSnapshotFiles,
      (ns, key, value) => map(ns).set(key, value),
      (offset) => this.#corrupt(snapshotPath, offset),
    )
    const base = snapshot?.generation ?? 0
    this.#snapshotBytes = snapshot?.bytes ?? 0
    // The snapshot's journal, then those of compactions that had not renamed their snapshot yet.
    const onDisk = new Set<number>()
    for (const name of readdirSync(dir)) {
      const match = /^journal-(\d+)\.log$/.exec(name)
      if (match !== null) onDisk.add(Number(match[1]))
    }
    let last: { generation: number; goodLength: number; length: number } | undefined
    for (let generation = base; generation === base || onDisk.has(generation); generation++) {
      const replayed = this.#replayJournal(generation, generation === base)
      if (replayed === undefined) break
      onDisk.delete(generation)
      last = { generation, ...replayed }
    }
    // Leftovers of a compaction cut short: other journals (one whose header never got written
    // took no call) and a temp snapshot.
    for (const generation of onDisk) unlinkQuietly(this.#journalPath(generation))
    unlinkQuietly(join(dir, 'snapshot.tmp'))
    this.#generation = last?.generation ?? base
    if (last === undefined) {
      this.#fd = this.#createJournal(base)
      return
    }
    const path = this.#journalPath(last.generation)
    this.#fd = openSync(path, 'a', 0o600)
    chmodSync(path, 0o600)
    if (last.goodLength < last.length) {
      this.#options.onWarning(
        `${path}: cut off a torn tail of ${last.length - last.goodLength} bytes at offset ${last.goodLength} ` +
          '(a write the process did not finish before it stopped; no call that had resolved is lost)',
      )
      ftruncateSync(this.#fd, last.goodLength)
      fsyncSync(this.#fd)
    }
    this.#journalBytes = last.goodLength
  }

  /**
   * Applies the calls of `journal-<generation>.log`; undefined when it has no intact header (it
   * was being created when the process died: no call went to it).
   */
  #replayJournal(generation: number, warnIfTorn: boolean): { goodLength: number; length: number } | undefined {
    const path = this.#journalPath(generation)
    const bytes = readIfExists(path)
    if (bytes === undefined || bytes.length === 0) return undefined
    const scanned = scanFrames(bytes, (offset) => this.#corrupt(path, offset))
    if (scanned.frames.length === 0) {
      if (warnIfTorn) this.#options.onWarning(`${path}: the journal's header was incomplete (a crash while creating it); starting it again`)
      return undefined
    }
    const header = parse<JournalHeader>(scanned.frames[0]!.payload)
    if (header?.kind !== 'journal' || header.generation !== generation) this.#corrupt(path, 0)
    for (let i = 1; i < scanned.frames.length; i++) {
      const found = scanned.frames[i]!
      const commits = parse<Mutation[][]>(found.payload)
      if (!Array.isArray(commits)) this.#corrupt(path, found.offset)
      for (const mutations of commits) this.#records.apply(mutations)
    }
    return { goodLength: scanned.goodLength, length: bytes.length }
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
