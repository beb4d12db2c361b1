/**
 * The firing side of schedules, in the app that consumes (one per storage: the process that owns
 * a file directory, the tab elected leader): a timer on the engine clock per schedule, and for
 * each slot one send whose storage call also stores the schedule's progress. The slot's message
 * and the progress past it are stored together or not at all, so a crash or restart fires a slot
 * once: never twice, never lost.
 */
import type { Clock, TimerHandle } from '../time/clock.js'
import type { SignatureJSON } from '../model/message.js'
import type { Mutation, StorageChange, StoredValue } from '../../storage/types.js'
import { definitionKey, idOfDefinitionKey, idOfProgressKey, progressKey, slotId } from './record.js'
import type { ProgressRecord, ScheduleRecord } from './record.js'
import { slotsOf } from './timing.js'
import type { Slots } from './timing.js'

/** What the firing needs from the app and its engine. */
export interface FiringHost {
  readonly clock: Clock
  /** Every record of the `meta` namespace. */
  entries(): Promise<Array<[string, StoredValue]>>
  get(key: string): Promise<StoredValue | undefined>
  /** Sends `json` as task `taskId`, with `mutations` in the same storage call. */
  send(json: SignatureJSON, taskId: string, mutations: readonly Mutation[]): Promise<unknown>
  write(mutations: Mutation[]): Promise<void>
  log(level: 'warn' | 'error', text: string): void
  /** Changes other tabs make (shared storage only). */
  watch: ((listener: (changes: readonly StorageChange[]) => void) => () => void) | undefined
}

interface Entry {
  readonly def: ScheduleRecord
  readonly slots: Slots
  progress: ProgressRecord
  timer: TimerHandle | undefined
}

export class Firing {
  readonly #host: FiringHost
  readonly #entries = new Map<string, Entry>()
  #unwatch: (() => void) | undefined
  #stopped = false

  constructor(host: FiringHost) {
    this.#host = host
  }

  /** Loads every schedule and fires what fell due while no app fired (per its `missed` policy). */
  async start(): Promise<void> {
    const defs: ScheduleRecord[] = []
    const progress = new Map<string, ProgressRecord>()
    for (const [key, value] of await this.#host.entries()) {
      if (idOfDefinitionKey(key) !== undefined) defs.push(value as ScheduleRecord)
      else {
        const id = idOfProgressKey(key)
        if (id !== undefined) progress.set(id, value as ProgressRecord)
      }
    }
    this.#unwatch = this.#host.watch?.((changes) => this.#onExternal(changes))
    for (const def of defs) this.apply(def, progress.get(def.id))
  }

  stop(): void {
    this.#stopped = true
    this.#unwatch?.()
    for (const entry of this.#entries.values()) this.#disarm(entry)
    this.#entries.clear()
  }

  /**
   * Takes a schedule's definition (new or changed) and its stored progress. Progress of another
   * version (the timing changed) is stale: the schedule starts afresh. Slots already due are
   * caught up at once, as missed ones.
   */
  apply(def: ScheduleRecord, stored: ProgressRecord | undefined): void {
    if (this.#stopped) return
    const old = this.#entries.get(def.id)
    if (old !== undefined) this.#disarm(old)
    const slots = slotsOf(def, def.anchor)
    // This app's own progress is the newest: it is written with the sends, maybe not yet stored.
    const known = old?.progress.version === def.version ? old.progress : stored?.version === def.version ? stored : undefined
    const entry: Entry = { def, slots, progress: known ?? { version: def.version, next: slots.first, count: 0 }, timer: undefined }
    this.#entries.set(def.id, entry)
    this.#wake(entry, true)
  }

  /** How far schedule `id` has fired here (newer than storage by the writes in flight). */
  progressOf(id: string): ProgressRecord | undefined {
    return this.#entries.get(id)?.progress
  }

  drop(id: string): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    this.#disarm(entry)
    this.#entries.delete(id)
  }

  /**
   * Fires the slots due by now. On a timer the last due slot is on time; the ones before it (a
   * timer that came late: a machine asleep) and, on a catch-up, all of them are missed: run once
   * (the last), skipped, or all run, as the schedule says.
   */
  #wake(entry: Entry, catchUp: boolean): void {
    const { def, slots } = entry
    const { next, count } = entry.progress
    // Ended (endAt, limit) or no slot left; an upsert that moves the end or raises the limit goes on.
    if (next === null || bounded(def, next, count) === null) return
    const now = this.#host.clock.now()
    if (next > now) {
      this.#arm(entry, next)
      return
    }
    const fires: number[] = []
    let after: number | null
    if (def.missed === 'all') {
      let due: number | null = next
      while (due !== null && due <= now && bounded(def, due, count + fires.length) !== null) {
        fires.push(due)
        due = slots.after(due)
      }
      after = due
    } else {
      const last = Math.max(slots.latest(def.endAt === null ? now : Math.min(now, def.endAt)) ?? next, next)
      if (def.missed === 'once' || !catchUp) fires.push(last)
      after = slots.after(last)
    }
    const progressAt = (i: number): ProgressRecord => ({
      version: def.version,
      next: i + 1 < fires.length ? fires[i + 1]! : after,
      count: count + i + 1,
    })
    entry.progress = { version: def.version, next: after, count: count + fires.length }
    if (fires.length === 0) this.#report(def.id, this.#host.write([progressPut(def.id, entry.progress)]))
    for (let i = 0; i < fires.length; i++) {
      const due = fires[i]!
      this.#report(def.id, this.#host.send(def.signature, slotId(def.id, due), [progressPut(def.id, progressAt(i))]))
    }
    if (bounded(def, after, entry.progress.count) !== null) this.#arm(entry, after!)
  }

  #report(id: string, work: Promise<unknown>): void {
    work.catch((error: unknown) => {
      if (this.#stopped) return
      this.#host.log('error', `schedule '${id}': a slot could not be sent (it is sent again at the next start): ${String(error)}`)
    })
  }

  #arm(entry: Entry, at: number): void {
    entry.timer = this.#host.clock.setTimer(at, () => {
      entry.timer = undefined
      if (this.#entries.get(entry.def.id) === entry) this.#wake(entry, false)
    })
  }

  #disarm(entry: Entry): void {
    if (entry.timer !== undefined) this.#host.clock.clearTimer(entry.timer)
    entry.timer = undefined
  }

  /** Another tab upserted or removed a schedule: take its definition. */
  #onExternal(changes: readonly StorageChange[]): void {
    for (const change of changes) {
      const id = change.ns === 'meta' ? idOfDefinitionKey(change.key) : undefined
      if (id !== undefined) void this.#reload(id)
    }
  }

  async #reload(id: string): Promise<void> {
    try {
      const [def, progress] = await Promise.all([this.#host.get(definitionKey(id)), this.#host.get(progressKey(id))])
      if (def === undefined) this.drop(id)
      else this.apply(def as ScheduleRecord, progress as ProgressRecord | undefined)
    } catch (error) {
      this.#host.log('warn', `schedule '${id}' changed elsewhere and could not be read: ${String(error)}`)
    }
  }
}

/** `due` if the schedule still fires then (before its end, within its limit), else null. */
function bounded(def: ScheduleRecord, due: number | null, count: number): number | null {
  if (due === null) return null
  if (def.endAt !== null && due > def.endAt) return null
  if (def.limit !== null && count >= def.limit) return null
  return due
}

function progressPut(id: string, value: ProgressRecord): Mutation {
  return { op: 'put', ns: 'meta', key: progressKey(id), value }
}
