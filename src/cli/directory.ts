/**
 * `celeriac --dir PATH`: the read commands answered from a file-storage directory that no process
 * owns, read without changing it (`readStorageDirectory`: snapshot and journals replayed in
 * memory, `LOCK` never taken). Answers have the endpoint's shapes, so the same renderers and
 * `--json` work; what needs a running app (`inspect active`, the control commands, `events`) is
 * a UsageError saying so. It reuses the storage's record decoding and the serializer's `decode`,
 * nothing of the engine that runs tasks.
 */
import type { TaskInfo } from '../core/app/control.js'
import type { ResultRecord, TaskMessage } from '../core/model/message.js'
import { statusOf } from '../core/result/status.js'
import { decode } from '../core/serializer/decode.js'
import { idOfDefinitionKey, idOfProgressKey } from '../core/schedule/record.js'
import type { ProgressRecord, ScheduleRecord } from '../core/schedule/record.js'
import { slotsOf } from '../core/schedule/timing.js'
import type { Records } from '../storage/records.js'
import { DirectoryReadError, readStorageDirectory } from '../storage/file/read-only.js'
import type { DirectoryContents } from '../storage/file/read-only.js'
import { toWire } from '../serve/wire.js'
import { CliError, EXIT, UsageError } from './errors.js'
import type { StreamEvent } from './sse.js'

/** The `meta` record of the paused queues (engine/pauses.ts's PAUSED_KEY, copied: that module is the engine's): `{ [queue]: epoch ms of its pause }`. */
const PAUSED_KEY = 'queues:paused'
/** How long a revoked id is remembered (engine/revoked.ts's REVOKE_EXPIRES, copied; test/cli/dir.test.ts checks both agree). */
const REVOKE_EXPIRES = 10_800_000

/** A live process owns the directory (exit 4): its endpoint is the way to ask it. */
class DirectoryOwnedError extends CliError {
  static {
    DirectoryOwnedError.prototype.name = 'DirectoryOwnedError'
  }
  constructor(message: string) {
    super('DIRECTORY_OWNED', message, EXIT.owned)
  }
}

/** The directory is no file storage, or damaged (exit 1, as an app opening it would refuse it). */
class DirectoryUnreadableError extends CliError {
  static {
    DirectoryUnreadableError.prototype.name = 'DirectoryUnreadableError'
  }
  constructor(message: string) {
    super('DIRECTORY_UNREADABLE', message, EXIT.refused)
  }
}

/** Answers the endpoint's read paths from a directory; `warn` hears what an open would fix (a torn tail). */
export class DirectoryClient {
  readonly #dir: string
  readonly #warn: (message: string) => void
  readonly #now: () => number
  #contents: DirectoryContents | undefined

  constructor(dir: string, warn: (message: string) => void, now: () => number = Date.now) {
    this.#dir = dir
    this.#warn = warn
    this.#now = now
  }

  // The ControlClient's shape (program.ts uses either), so these are async though nothing waits.
  async get(path: string): Promise<unknown> {
    if (path === '/v1/inspect/active') {
      throw new UsageError(
        'inspect active needs a running app (--url): nothing runs in a directory. Tasks that were running when its process died ' +
          'are STARTED results (celeriac result <id>); the acksLate ones, run again at the next start, are under inspect reserved',
      )
    }
    const records = this.#read()
    const now = this.#now()
    if (path.startsWith('/v1/results/')) return result(records, decodeURIComponent(path.slice('/v1/results/'.length)), now)
    switch (path) {
      case '/v1/inspect/scheduled':
        return messages(records, now).scheduled
      case '/v1/inspect/reserved':
        return messages(records, now).reserved
      case '/v1/inspect/revoked':
        return revoked(records, now)
      case '/v1/inspect/stats':
        return stats(records, now)
      case '/v1/inspect/queues':
        return queues(records, now)
      case '/v1/schedules':
        return schedules(records)
      default:
        throw new UsageError(`${path} cannot be read from a directory`)
    }
  }

  async post(path: string): Promise<unknown> {
    throw needsApp(path.slice(path.lastIndexOf('/') + 1))
  }

  events(): AsyncIterable<StreamEvent> {
    throw needsApp('events')
  }

  #read(): Records {
    if (this.#contents === undefined) {
      try {
        this.#contents = readStorageDirectory(this.#dir)
      } catch (error) {
        if (!(error instanceof DirectoryReadError)) throw error
        if (error.reason === 'unreadable') throw new DirectoryUnreadableError(error.message)
        throw new DirectoryOwnedError(
          `${error.message}. A live app owns the directory and not all its writes are on disk: ask it through its control endpoint, ` +
            "celeriac --url http://127.0.0.1:PORT (the app opens one with serve() from 'celeriac/node')",
        )
      }
      const { lock, warnings } = this.#contents
      if (lock.state === 'stale') {
        this.#warn(`${this.#dir}: LOCK names process ${String(lock.pid)}, which is gone: its app did not stop cleanly; read as its next start will find it`)
      }
      for (const warning of warnings) this.#warn(warning)
    }
    return this.#contents.records
  }
}

function needsApp(command: string): UsageError {
  return new UsageError(
    `${command} needs a running app's control endpoint (--url or --socket, with --token): --dir only reads a directory, it never changes one`,
  )
}

/**
 * The stored messages as a restart would find them: waiting for their eta (scheduled) or ready
 * (reserved; a paused queue's too, waiting for its resume, as inspect counts them). A leased
 * message was running when its process stopped: an acksLate one runs again (reserved), an early-
 * ack one is failed as lost at the next start (`interrupted`, in stats only).
 */
function messages(records: Records, now: number): { scheduled: TaskInfo[]; reserved: TaskInfo[]; interrupted: number } {
  const all = records.entries('messages').map(([, value]) => value as TaskMessage)
  all.sort((a, b) => a.seq - b.seq)
  const scheduled: TaskMessage[] = []
  const reserved: TaskMessage[] = []
  let interrupted = 0
  for (const message of all) {
    if (message.leased && !message.acksLate) interrupted++
    else if (message.eta !== null && message.eta > now) scheduled.push(message)
    else reserved.push(message)
  }
  scheduled.sort((a, b) => a.eta! - b.eta!)
  return { scheduled: scheduled.map(taskInfo), reserved: reserved.map(taskInfo), interrupted }
}

/** A message as `app.inspect` reports a task (control.ts's TaskInfo: its args decoded), made JSON. */
function taskInfo(message: TaskMessage): TaskInfo {
  const { id, task, queue, priority, eta, expires, retries, parentId, rootId } = message
  return toWire({ id, name: task, args: decode(message.args), queue, priority, eta, expires, retries, parentId, rootId }) as TaskInfo
}

/** The revoked ids still remembered (a revoke is forgotten after REVOKE_EXPIRES), most recent first. */
function revoked(records: Records, now: number): string[] {
  const live: Array<[string, number]> = []
  for (const [id, value] of records.entries('revoked')) {
    const at = typeof value === 'number' ? value : (value as { at?: unknown } | null)?.at
    if (typeof at !== 'number' || now - at <= REVOKE_EXPIRES) live.push([id, typeof at === 'number' ? at : now])
  }
  return live.sort((a, b) => b[1] - a[1]).map(([id]) => id)
}

/** What a directory can count: messages by how they wait (`paused`: of `ready`, in paused queues, as the app counts), results by state, revoked ids, schedules. */
function stats(records: Records, now: number): Record<string, unknown> {
  const { scheduled, reserved, interrupted } = messages(records, now)
  const results: Record<string, number> = {}
  for (const [, value] of records.entries('results')) {
    const record = value as ResultRecord
    if (record.expiresAt !== null && record.expiresAt <= now) continue
    results[record.state] = (results[record.state] ?? 0) + 1
  }
  const paused = pausedQueues(records)
  return {
    ready: reserved.length,
    paused: reserved.filter((m) => paused[m.queue] !== undefined).length,
    scheduled: scheduled.length,
    interrupted,
    results,
    revoked: revoked(records, now).length,
    schedules: schedules(records).length,
  }
}

/** The paused queues' record: `{ [queue]: epoch ms of its pause }`. */
function pausedQueues(records: Records): Record<string, number> {
  return (records.get('meta', PAUSED_KEY) ?? {}) as Record<string, number>
}

function queues(records: Records, now: number): unknown[] {
  const paused = pausedQueues(records)
  const out = new Map<string, { name: string; paused: boolean; pausedAt: number | null; concurrency: null; active: 0; reserved: number; scheduled: number }>()
  const entry = (name: string) => {
    let q = out.get(name)
    if (q === undefined) {
      const at = paused[name]
      q = { name, paused: at !== undefined, pausedAt: at ?? null, concurrency: null, active: 0, reserved: 0, scheduled: 0 }
      out.set(name, q)
    }
    return q
  }
  const { scheduled, reserved } = messages(records, now)
  const names = new Set([...Object.keys(paused), ...[...scheduled, ...reserved].map((m) => m.queue)])
  for (const name of [...names].sort()) entry(name)
  for (const m of reserved) entry(m.queue).reserved++
  for (const m of scheduled) entry(m.queue).scheduled++
  return [...out.values()]
}

/** A result as `AsyncResult.status()` gives it (PENDING for an unknown or expired id, as the app reads it). */
function result(records: Records, id: string, now: number): unknown {
  const record = records.get('results', id) as ResultRecord | undefined
  const live = record !== undefined && (record.expiresAt === null || record.expiresAt > now)
  return toWire(statusOf(id, live ? record : undefined))
}

/** The schedules as `app.schedules.list()` gives them: by id, with their next slot and count. */
function schedules(records: Records): unknown[] {
  const defs: ScheduleRecord[] = []
  const progress = new Map<string, ProgressRecord>()
  for (const [key, value] of records.entries('meta')) {
    if (idOfDefinitionKey(key) !== undefined) defs.push(value as ScheduleRecord)
    const progressOf = idOfProgressKey(key)
    if (progressOf !== undefined) progress.set(progressOf, value as ProgressRecord)
  }
  defs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return defs.map((def) => {
    const stored = progress.get(def.id)
    const current = stored?.version === def.version ? stored : undefined
    let next = current === undefined ? slotsOf(def, def.anchor).first : current.next
    const count = current?.count ?? 0
    if (next !== null && ((def.endAt !== null && next > def.endAt) || (def.limit !== null && count >= def.limit))) next = null
    const { id, every, cron, tz, signature, startAt, endAt, limit, missed } = def
    return toWire({ id, every, cron, tz, signature, startAt, endAt, limit, missed, next, count })
  })
}
