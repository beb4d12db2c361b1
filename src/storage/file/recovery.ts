/**
 * Opening file storage: the snapshot is read (frame by frame), then the journals that continue
 * it are replayed in turn: the snapshot's own, and those of compactions that had not renamed
 * their snapshot into place yet. The leftovers of a compaction cut short are removed; anything
 * else out of place is damage, refused or, with `repair`, set aside (repair.ts).
 */
import { join } from 'node:path'
import { StorageError } from '../../core/model/errors.js'
import type { Records } from '../records.js'
import type { Namespace, StoredValue } from '../types.js'
import { closeQuietly, fsyncDirectory, unlinkQuietly, writeFileDurably } from './durable-io.js'
import { JOURNAL_VERSION, createJournal, cutShortJournal, journalPath, journalPrefix, readJournal } from './journal.js'
import type { ResolvedOptions } from './options.js'
import { DamagedFiles } from './repair.js'
import { readSnapshot, snapshotFiles } from './snapshot.js'
import { fileRecords } from './record-map.js'

/** The state recovery found, and the journal that takes the calls from here on. */
export interface Recovered {
  readonly records: Records
  readonly generation: number
  /** The open descriptor of `journal-<generation>.log`, positioned at its end. */
  readonly fd: number
  readonly journalBytes: number
  /** That journal's format version (journal.ts): one of an earlier version is appended to as such. */
  readonly version: number
  readonly snapshotBytes: number
}

interface ChainedJournal {
  readonly generation: number
  readonly path: string
}

/** Recovers the store in `options.dir` (locked by the caller). */
export function recover(options: ResolvedOptions): Recovered {
  return new Recovery(options).run()
}

class Recovery {
  readonly #options: ResolvedOptions
  readonly #damaged: DamagedFiles
  #records = fileRecords()

  constructor(options: ResolvedOptions) {
    this.#options = options
    this.#damaged = new DamagedFiles(options.fs, options.dir, options.repair, options.onWarning)
  }

  run(): Recovered {
    const { dir, fs } = this.#options
    const journals = this.#journalsOnDisk()
    const path = join(dir, 'snapshot')
    let snapshot: { generation: number; bytes: number } | undefined
    try {
      const load = (ns: Namespace, key: string, value: StoredValue): void => void this.#records.map(ns).set(key, value)
      snapshot = readSnapshot(path, snapshotFiles(fs), load, (offset) => damagedSnapshot(path, offset))
    } catch (error) {
      if (!(error instanceof StorageError) || error.offset === undefined || !this.#damaged.repairing) throw error
      // Every journal continues some snapshot: with this one damaged, none of them can be
      // applied. Repair sets them all aside and starts empty.
      this.#damaged.found(path, `is damaged at byte offset ${error.offset}`, error.offset, [...journals.values()])
      this.#records = fileRecords()
      journals.clear()
    }
    const chain = this.#chain(journals, snapshot?.generation)
    const journal = this.#replay(chain, snapshot?.generation)
    return { records: this.#records, ...journal, snapshotBytes: snapshot?.bytes ?? 0 }
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
   * The journals to replay: the snapshot's (generation 0 without one) and those after it in turn,
   * which compactions that had not renamed their snapshot yet started. Journals older than the
   * snapshot are folded into it (a compaction removes them after its rename, and may not have
   * got to it): removed. Any other is damage: a journal without its snapshot, or one from elsewhere.
   */
  #chain(journals: Map<number, string>, snapshotGeneration: number | undefined): ChainedJournal[] {
    const chain: ChainedJournal[] = []
    for (let generation = snapshotGeneration ?? 0; journals.has(generation); generation++) {
      chain.push({ generation, path: journals.get(generation)! })
      journals.delete(generation)
    }
    for (const [other, path] of journals) {
      if (snapshotGeneration !== undefined && other < snapshotGeneration) {
        unlinkQuietly(this.#options.fs, path)
        continue
      }
      this.#damaged.found(
        path,
        snapshotGeneration === undefined
          ? `belongs to generation ${other}, which starts from a snapshot, and the snapshot is missing`
          : `does not belong to the snapshot, which is generation ${snapshotGeneration} ` +
              `(it expects journal-${snapshotGeneration}.log and those of the generations after it, in turn)`,
      )
    }
    return chain
  }

  /**
   * Applies the chain's calls; the last journal takes the calls from here on. A last journal whose
   * header frame is not intact is one whose creation was cut short only if it is no longer than
   * its header (no call can follow it) and either continues another journal (a compaction's next
   * one: removed) or starts a fresh store (started again). With a snapshot, its own journal was
   * made durable before it, so anything else is damage.
   */
  #replay(chain: ChainedJournal[], snapshotGeneration: number | undefined): Omit<Recovered, 'records' | 'snapshotBytes'> {
    const { fs, onWarning } = this.#options
    const base = snapshotGeneration ?? 0
    if (chain.length === 0) {
      if (snapshotGeneration !== undefined)
        this.#damaged.found(journalPath(this.#options.dir, base), `is missing: the snapshot (generation ${base}) is continued by it`)
      return this.#fresh(base)
    }
    const last = chain.at(-1)!
    const cutShort = cutShortJournal(fs, last.path, last.generation)
    if (cutShort !== undefined) {
      if (chain.length > 1) {
        unlinkQuietly(fs, last.path)
        chain.pop()
      } else if (snapshotGeneration === undefined) {
        if (cutShort > 0) onWarning(`${last.path}: the journal's header was incomplete (a crash while creating it); starting it again`)
        return this.#fresh(base)
      }
    }
    for (let i = 0; i < chain.length; i++) {
      const { generation, path } = chain[i]!
      const read = readJournal(fs, path, generation, this.#records)
      if (read.damagedAt !== undefined) {
        const { damagedAt, goodLength } = read
        // Repairing keeps the intact frames before the damage (replayed): read before the file is moved aside.
        const intact = this.#damaged.repairing && damagedAt > 0 ? journalPrefix(fs, path, goodLength) : Buffer.alloc(0)
        // The journals after this one continue the calls lost with the damage: they go with it.
        const later = chain.slice(i + 1).map((journal) => journal.path)
        this.#damaged.found(
          path,
          damagedAt === 0
            ? `is damaged at byte offset 0: its header frame is not an intact header of generation ${generation}`
            : `is damaged at byte offset ${damagedAt}: intact data follows, so this is not a torn tail and nothing was skipped`,
          damagedAt,
          later,
        )
        return this.#rewritten(generation, path, intact, read.version)
      }
      // An earlier journal's torn tail (a 'write' durability flush lost with the machine) is
      // never appended to, so it is left as it is.
      if (i === chain.length - 1) return this.#appendTo(generation, path, read)
    }
    throw new Error('unreachable: the chain is not empty')
  }

  /** A new journal for `generation`, holding only its header. */
  #fresh(generation: number): Omit<Recovered, 'records' | 'snapshotBytes'> {
    const { fd, bytes } = createJournal(this.#options.fs, this.#options.dir, generation)
    return { generation, fd, journalBytes: bytes, version: JOURNAL_VERSION }
  }

  /** Opens the journal for appending, cutting off a torn tail. */
  #appendTo(generation: number, path: string, read: { length: number; goodLength: number; version: number }): Omit<Recovered, 'records' | 'snapshotBytes'> {
    const { fs } = this.#options
    const { length, goodLength } = read
    const fd = fs.openSync(path, 'a', 0o600)
    try {
      fs.chmodSync(path, 0o600)
      if (goodLength < length) {
        this.#options.onWarning(
          `${path}: cut off a torn tail of ${length - goodLength} bytes at offset ${goodLength} ` +
            '(a write the process did not finish before it stopped; no call that had resolved is lost)',
        )
        fs.ftruncateSync(fd, goodLength)
      }
      // What was read is on disk from here on (a killed process's last frames may have been in the
      // page cache only): the frames written next say so (their `synced` mark, journal.ts).
      fs.fsyncSync(fd)
    } catch (error) {
      closeQuietly(fs, fd)
      throw error
    }
    return { generation, fd, journalBytes: goodLength, version: read.version }
  }

  /** The journal of `generation` rewritten to its intact part (a repair), keeping its version. */
  #rewritten(generation: number, path: string, intact: Buffer, version: number): Omit<Recovered, 'records' | 'snapshotBytes'> {
    if (intact.length === 0) return this.#fresh(generation)
    const { fs, dir } = this.#options
    writeFileDurably(fs, path, intact)
    fsyncDirectory(fs, dir)
    return { generation, fd: fs.openSync(path, 'a', 0o600), journalBytes: intact.length, version }
  }
}

/** A snapshot is only ever renamed into place whole, so anything short of a whole, intact one is damage. */
function damagedSnapshot(path: string, offset: number): never {
  throw new StorageError(
    `${path} is damaged at byte offset ${offset}: a snapshot is renamed into place only once written whole and fsync'd. ` +
      'Restore the directory from a backup, or open it once with fileStorage({ dir, repair: true }) to move the damaged ' +
      'snapshot and its journals into a repair-<time>/ folder inside the directory and start empty',
    { path, offset },
  )
}
