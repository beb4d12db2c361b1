/**
 * What a schedule keeps in storage (the `meta` namespace, so every storage keeps it with no new
 * store): its definition, written by `upsert`, and its progress, written by the app that fires it
 * in the same storage call as the slot's message. Two records, so an upsert from one tab and a
 * firing in another never overwrite each other's half.
 */
import type { SignatureJSON } from '../model/message.js'

/**
 * What to do with slots that fell due while no app was firing (see {@link ScheduleOptions.missed}).
 *
 * @example
 * await app.schedules.upsert('digest', { cron: '0 8 * * *' }, digest.s(), { missed: 'skip' })
 */
export type MissedPolicy = 'once' | 'skip' | 'all'

/** A schedule's definition (`meta` key `schedule:<id>`). */
export interface ScheduleRecord {
  readonly id: string
  readonly every: number | null
  readonly cron: string | null
  readonly tz: string | null
  /** As given (null: not given); part of the timing an upsert compares. */
  readonly startAt: number | null
  /** The earliest time a slot may have: `startAt`, else fixed at the upsert that set the timing. */
  readonly anchor: number
  readonly endAt: number | null
  readonly limit: number | null
  readonly missed: MissedPolicy
  readonly signature: SignatureJSON
  /** Changes when the timing changes: progress of another version is stale. */
  readonly version: string
}

/** How far a schedule has fired (`meta` key `schedule-progress:<id>`). */
export interface ProgressRecord {
  readonly version: string
  /**
   * The next slot of the timing not yet sent or skipped (epoch ms; null: the timing has no more),
   * whether or not `endAt` and `limit` let it fire: a later upsert may move them.
   */
  readonly next: number | null
  /** Slots fired so far (for `limit`). */
  readonly count: number
}

const DEFINITION = 'schedule:'
const PROGRESS = 'schedule-progress:'

export const definitionKey = (id: string): string => DEFINITION + id
export const progressKey = (id: string): string => PROGRESS + id

/** The schedule id of a definition key, or undefined for any other `meta` key. */
export function idOfDefinitionKey(key: string): string | undefined {
  return key.startsWith(DEFINITION) ? key.slice(DEFINITION.length) : undefined
}

/** The schedule id of a progress key, or undefined for any other `meta` key. */
export function idOfProgressKey(key: string): string | undefined {
  return key.startsWith(PROGRESS) ? key.slice(PROGRESS.length) : undefined
}

/** The task id of the slot due at `due`: the same in every process, so a slot is one task. */
export const slotId = (id: string, due: number): string => `${id}@${String(due)}`
