/**
 * Periodic tasks (`app.schedules`), as Celery beat and BullMQ's job schedulers give them: a
 * schedule sends a signature at each slot of its timing. Definitions live in storage, so they
 * survive restarts and every tab sees them; the app that consumes fires them (./firing.ts).
 */
import { Signature } from '../canvas/signature.js'
import type { Clock } from '../time/clock.js'
import { ConfigError } from '../model/errors.js'
import type { SignatureJSON, TaskMessage } from '../model/message.js'
import type { BrokerSchedule, BrokerScheduleState, TransportSchedules } from '../engine/transport.js'
import { checkName, checkTime, checkWholeNumber } from '../model/validate.js'
import type { StorageKey, StoredValue, TransactStep } from '../../storage/types.js'
import type { Firing } from './firing.js'
import { definitionKey, idOfDefinitionKey, idOfProgressKey, progressKey } from './record.js'
import type { MissedPolicy, ProgressRecord, ScheduleRecord } from './record.js'
import { checkTiming, slotsOf } from './timing.js'
import type { CheckedTiming, ScheduleTiming } from './timing.js'

export type { MissedPolicy } from './record.js'
export type { ScheduleTiming } from './timing.js'

/**
 * Options of {@link Schedules.upsert}.
 *
 * @example
 * await app.schedules.upsert('ping', { every: 60_000 }, ping.s(), { limit: 10, missed: 'skip' })
 */
export interface ScheduleOptions {
  /** No slot before this time (Date or epoch ms). With `every`, the first slot is `startAt` itself. */
  startAt?: Date | number
  /** No slot after this time (Date or epoch ms): the schedule ends. */
  endAt?: Date | number
  /** Fire at most this many slots (a whole number >= 1), then end (as BullMQ's `limit`). */
  limit?: number
  /**
   * Slots that fell due while no app was firing (the app was down, or a machine slept):
   * `'once'` sends one of them, the latest (as Celery beat does; on bullmqTransport the first,
   * BullMQ's pending job); `'skip'` sends none and waits for the next slot; `'all'` sends each
   * (each its own task). bullmqTransport has `'once'` only.
   * @default 'once'
   */
  missed?: MissedPolicy
}

/**
 * A schedule in the app's config (`schedules`): its timing, the signature and its options.
 *
 * @example
 * app.configure({ schedules: { nightly: { cron: '0 3 * * *', tz: 'Europe/Paris', signature: report.s() } } })
 */
export type ScheduleEntry = ScheduleTiming &
  ScheduleOptions & {
    /** What each slot sends (a task's signature, or a chain, group or chord). */
    signature: Signature<unknown[], unknown, unknown>
  }

/**
 * A schedule as {@link Schedules.list} shows it.
 *
 * @example
 * for (const s of await app.schedules.list()) console.log(s.id, s.next === null ? 'ended' : new Date(s.next), s.count)
 */
export interface ScheduleInfo {
  readonly id: string
  readonly every: number | null
  readonly cron: string | null
  readonly tz: string | null
  readonly signature: Signature<unknown[], unknown, unknown>
  readonly startAt: number | null
  readonly endAt: number | null
  readonly limit: number | null
  readonly missed: MissedPolicy
  /** The next slot (epoch ms), or null once the schedule has ended (`endAt`, `limit`). */
  readonly next: number | null
  /** Slots sent so far. */
  readonly count: number
}

/** What the schedules need from the running app. */
export interface ScheduleStore {
  readonly clock: Clock
  newId(): string
  entries(): Promise<Array<[string, StoredValue]>>
  transact<R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>): Promise<R>
  /** Throws if the app cannot keep schedules (a transport without them) or does not know a task the signature names. */
  check(json: SignatureJSON): void
  /** A transport that keeps and fires the schedules itself (BullMQ's job schedulers); else this app does. */
  readonly broker: TransportSchedules | undefined
  /** The message `json` (a task signature) sends as `taskId`, with a relative `expires` kept as a duration. */
  templateOf(json: SignatureJSON, taskId: string): TaskMessage
}

const POLICIES: readonly MissedPolicy[] = ['once', 'skip', 'all']

/** A checked upsert: the record but for what only storage can decide (anchor, version). */
type Draft = Omit<ScheduleRecord, 'anchor' | 'version'>

/** Checks an upsert's arguments; throws ConfigError saying what to fix. */
export function checkSchedule(id: unknown, timing: unknown, signature: unknown, options: unknown, where: string): Draft {
  checkName(id, `${where}: the schedule id`)
  const at = `${where} '${id as string}'`
  const checked: CheckedTiming = checkTiming(timing, at)
  if (!(signature instanceof Signature)) {
    throw new ConfigError(`${at}: the signature must be a Signature (task.s(...args), chain(...), group(...) or chord(...)), got ${String(signature)}`)
  }
  if (signature.options.taskId !== undefined) {
    throw new ConfigError(`${at}: the signature has a taskId; each slot gets its own (<schedule id>@<due ms>), so remove it`)
  }
  if (options === null || typeof options !== 'object') throw new ConfigError(`${at}: options must be an object`)
  const { startAt, endAt, limit, missed, ...rest } = options as ScheduleOptions
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw new ConfigError(`${at}: unknown option ${unknown.join(', ')} (known: startAt, endAt, limit, missed)`)
  const start = startAt === undefined ? null : checkTime(startAt, `${at}: startAt`)
  const end = endAt === undefined ? null : checkTime(endAt, `${at}: endAt`)
  if (start !== null && end !== null && end < start) throw new ConfigError(`${at}: endAt is before startAt; no slot could fire`)
  if (missed !== undefined && !POLICIES.includes(missed)) throw new ConfigError(`${at}: missed must be 'once', 'skip' or 'all', got ${String(missed)}`)
  return {
    id: id as string,
    ...checked,
    startAt: start,
    endAt: end,
    limit: limit === undefined ? null : checkWholeNumber(limit, `${at}: limit`, 1),
    missed: missed ?? 'once',
    signature: signature.toJSON(),
  }
}

/** Whether two definitions have the same timing: an upsert that keeps it keeps the schedule's place. */
function sameTiming(a: Draft, b: ScheduleRecord): boolean {
  return a.every === b.every && a.cron === b.cron && a.tz === b.tz && a.startAt === b.startAt
}

/**
 * The app's periodic tasks (`app.schedules`). Each slot of a schedule is sent once, as task
 * `<schedule id>@<due ms>`, by the app that consumes, under every storage, across restarts; on
 * a transport that keeps schedules (bullmqTransport: BullMQ's job schedulers in Redis) by the
 * broker, whatever processes run, and `list()` reads them there.
 *
 * @example
 * const report = app.task('reports.nightly', () => 'built')
 * await app.start()
 * await app.schedules.upsert('nightly', { cron: '0 3 * * *', tz: 'Europe/Paris' }, report.s())
 * await app.schedules.upsert('heartbeat', { every: 60_000 }, ping.s(), { missed: 'skip' })
 * await app.schedules.list() // [{ id: 'heartbeat', next: ..., count: 0, ... }, ...]
 * await app.schedules.remove('heartbeat')
 */
export class Schedules {
  readonly #store: (what: string) => ScheduleStore
  #firing: Firing | undefined

  /** @internal */
  constructor(store: (what: string) => ScheduleStore) {
    this.#store = store
  }

  /**
   * Creates or replaces the schedule `id`; resolves once it is stored, with the schedule as
   * `list()` shows it. Upserting the same timing again (every start of an app that defines its
   * schedules in code does) keeps its place: its next slot, its count, and so the slots missed
   * while the app was down. A new timing (`every`, `cron`, `tz` or `startAt`) starts afresh; a
   * new signature, `endAt`, `limit` or `missed` applies from the next slot on (a schedule that
   * ended by its `endAt` or `limit` goes on if they are moved).
   * Rejects with ConfigError on bad input (a bad cron expression or time zone, `endAt` before
   * `startAt`, ...) or what the transport cannot keep (bullmqTransport: a canvas, `missed`
   * other than 'once'; celeryTransport: any, use Celery beat), and NotRegistered for a task the
   * consuming app does not know.
   *
   * @example
   * await app.schedules.upsert('cleanup', { every: 3_600_000 }, cleanup.s(), { startAt: Date.now() })
   * await app.schedules.upsert('sale', { cron: '0 9 * * 1-5', tz: 'America/New_York' }, notify.s('sale'), {
   *   endAt: new Date('2027-01-01'),
   *   missed: 'skip',
   * })
   */
  async upsert(id: string, timing: ScheduleTiming, signature: Signature<unknown[], unknown, unknown>, options: ScheduleOptions = {}): Promise<ScheduleInfo> {
    const draft = checkSchedule(id, timing, signature, options, 'schedules.upsert')
    const store = this.#store(`upsert schedule '${id}'`)
    store.check(draft.signature)
    if (store.broker !== undefined) return brokerInfo(await store.broker.upsert(brokerSchedule(draft, store)))
    const now = store.clock.now()
    const newId = store.newId()
    const [def, progress] = await store.transact([definitionKey(id), progressKey(id)].map(metaKey), ([old, oldProgress]) => {
      const previous = old as ScheduleRecord | undefined
      const kept = previous !== undefined && sameTiming(draft, previous)
      const record: ScheduleRecord = {
        ...draft,
        anchor: kept ? previous.anchor : (draft.startAt ?? (draft.every !== null ? now + draft.every : now + 1)),
        version: kept ? previous.version : newId,
      }
      const progress = kept ? (oldProgress as ProgressRecord | undefined) : undefined
      return {
        mutations: [
          { op: 'put', ns: 'meta', key: definitionKey(id), value: record },
          ...(kept ? [] : [{ op: 'delete' as const, ns: 'meta' as const, key: progressKey(id) }]),
        ],
        result: [record, progress] as const,
      }
    })
    this.#firing?.apply(def, progress)
    // Here it may have fired already (slots due at once): its progress is the newer.
    return info(def, this.#firing?.progressOf(id) ?? progress)
  }

  /**
   * Deletes the schedule `id`: no slot of it is sent from now on (one sent already stays sent).
   * Resolves with whether it existed.
   *
   * @example
   * await app.schedules.remove('heartbeat') // true
   */
  async remove(id: string): Promise<boolean> {
    checkName(id, 'schedules.remove: the schedule id')
    const store = this.#store(`remove schedule '${id}'`)
    if (store.broker !== undefined) return store.broker.remove(id)
    const existed = await store.transact([definitionKey(id), progressKey(id)].map(metaKey), ([def, progress]) => ({
      mutations: [
        { op: 'delete', ns: 'meta', key: definitionKey(id) },
        { op: 'delete', ns: 'meta', key: progressKey(id) },
      ],
      result: def !== undefined || progress !== undefined,
    }))
    this.#firing?.drop(id)
    return existed
  }

  /**
   * Every schedule, by id, with its next slot and how many it has sent.
   *
   * @example
   * for (const s of await app.schedules.list()) console.log(s.id, new Date(s.next ?? 0), s.count)
   */
  async list(): Promise<ScheduleInfo[]> {
    const store = this.#store('list schedules')
    if (store.broker !== undefined) return (await store.broker.list()).map(brokerInfo)
    const defs: ScheduleRecord[] = []
    const progress = new Map<string, ProgressRecord>()
    for (const [key, value] of await store.entries()) {
      if (idOfDefinitionKey(key) !== undefined) defs.push(value as ScheduleRecord)
      else {
        const id = idOfProgressKey(key)
        if (id !== undefined) progress.set(id, value as ProgressRecord)
      }
    }
    defs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return defs.map((def) => info(def, progress.get(def.id)))
  }

  /** @internal The app that consumes fires the schedules (or stops: undefined). */
  fireWith(firing: Firing | undefined): void {
    this.#firing = firing
  }
}

function metaKey(key: string): StorageKey {
  return { ns: 'meta', key }
}

function info(def: ScheduleRecord, stored: ProgressRecord | undefined): ScheduleInfo {
  const progress = stored?.version === def.version ? stored : undefined
  let next = progress === undefined ? slotsOf(def, def.anchor).first : progress.next
  const count = progress?.count ?? 0
  if (next !== null && ((def.endAt !== null && next > def.endAt) || (def.limit !== null && count >= def.limit))) next = null
  return {
    id: def.id,
    every: def.every,
    cron: def.cron,
    tz: def.tz,
    signature: Signature.fromJSON(def.signature),
    startAt: def.startAt,
    endAt: def.endAt,
    limit: def.limit,
    missed: def.missed,
    next,
    count,
  }
}

/**
 * A checked upsert as a broker keeps it (BullMQ's job scheduler repeats one job): one task, sent
 * as it is at each slot. A canvas is refused: its nodes' ids are frozen once, and each slot needs
 * its own.
 */
function brokerSchedule(draft: Draft, store: ScheduleStore): BrokerSchedule {
  const at = `schedules.upsert '${draft.id}'`
  const json = draft.signature
  if (json.kind !== 'task') {
    throw new ConfigError(
      `${at}: on this transport a schedule sends one task at each slot (the broker repeats one message), not a ${json.kind}; schedule a task that sends the ${json.kind} (${json.kind}(...).delay() in its body)`,
    )
  }
  const { eta, countdown, expiresAt } = json.options
  if (eta !== undefined || countdown !== undefined) {
    throw new ConfigError(
      `${at}: the signature has ${eta !== undefined ? 'an eta' : 'a countdown'}; a slot runs at its own time, so remove it (or move the timing: startAt, cron)`,
    )
  }
  if (expiresAt !== undefined) {
    throw new ConfigError(`${at}: the signature expires at a fixed date; give expires as a duration (ms), which counts from each slot`)
  }
  return {
    id: draft.id,
    every: draft.every,
    cron: draft.cron,
    tz: draft.tz,
    startAt: draft.startAt,
    endAt: draft.endAt,
    limit: draft.limit,
    missed: draft.missed,
    signature: json,
    message: store.templateOf(json, `${draft.id}@`),
  }
}

function brokerInfo({ schedule, next, count }: BrokerScheduleState): ScheduleInfo {
  return {
    id: schedule.id,
    every: schedule.every,
    cron: schedule.cron,
    tz: schedule.tz,
    signature: Signature.fromJSON(schedule.signature),
    startAt: schedule.startAt,
    endAt: schedule.endAt,
    limit: schedule.limit,
    missed: schedule.missed,
    next,
    count,
  }
}
