/**
 * When a schedule falls due: its slots, as epoch ms. `every` slots are arithmetic from an anchor;
 * cron slots come from croner, which knows time zones and DST (a local time that a spring-forward
 * skips fires once, at the first instant after the gap; one that a fall-back repeats fires once).
 */
import { Cron } from 'croner'
import { ConfigError } from '../model/errors.js'
import { checkWholeNumber } from '../model/validate.js'

/**
 * How often a schedule fires: every `every` ms, or at the times a cron expression names.
 *
 * @example
 * const timings: ScheduleTiming[] = [
 *   { every: 60_000 },                           // each minute, from the upsert (or startAt) on
 *   { cron: '0 3 * * *', tz: 'Europe/Paris' },   // 03:00 Paris time, DST included
 *   { cron: '*\/10 * * * * *' },                 // six fields: seconds first
 * ]
 */
export type ScheduleTiming =
  | {
      /** The interval in ms (a whole number >= 1). The first slot is `startAt`, else one interval after the upsert. */
      readonly every: number
    }
  | {
      /** A cron expression: 5 fields (minute first) or 6 (second first), as croner reads them. */
      readonly cron: string
      /** An IANA time zone (`'Europe/Paris'`, `'UTC'`) the expression is read in. @default the host's local zone */
      readonly tz?: string
    }

/** The slots of one timing, from an anchor (the earliest time a slot may have). */
export interface Slots {
  /** The first slot at or after the anchor, or null if there is none. */
  readonly first: number | null
  /** The slot after `due`, or null. */
  after(due: number): number | null
  /** The last slot at or before `now` (at or after the anchor), or null. */
  latest(now: number): number | null
}

/** The checked timing: exactly one of `every` and `cron`. */
export interface CheckedTiming {
  readonly every: number | null
  readonly cron: string | null
  readonly tz: string | null
}

/** Checks a timing given by a user (`where` names it in errors); throws ConfigError. */
export function checkTiming(timing: unknown, where: string): CheckedTiming {
  if (timing === null || typeof timing !== 'object') {
    throw new ConfigError(`${where} must be { every: ms } or { cron: '...', tz? }, got ${String(timing)}`)
  }
  const { every, cron, tz } = timing as { every?: unknown; cron?: unknown; tz?: unknown }
  if ((every === undefined) === (cron === undefined)) {
    throw new ConfigError(`${where} needs exactly one of every (ms) and cron (an expression such as '0 3 * * *')`)
  }
  if (every !== undefined) {
    if (tz !== undefined) throw new ConfigError(`${where}: tz applies to cron only; an every interval is the same in every zone`)
    return { every: checkWholeNumber(every, `${where}: every`, 1), cron: null, tz: null }
  }
  if (typeof cron !== 'string' || cron.trim() === '') throw new ConfigError(`${where}: cron must be a cron expression such as '0 3 * * *', got ${String(cron)}`)
  if (tz !== undefined) checkZone(tz, where)
  const checked = { every: null, cron, tz: (tz as string | undefined) ?? null }
  let first: number | null
  try {
    first = slotsOf(checked, 0).first
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(`${where}: bad cron expression '${cron}' (5 fields, minute first, or 6, second first: '0 3 * * *'): ${reason}`)
  }
  if (first === null) throw new ConfigError(`${where}: cron expression '${cron}' never falls due (e.g. February 30); fix the day or month fields`)
  return checked
}

function checkZone(tz: unknown, where: string): void {
  if (typeof tz === 'string' && tz !== '') {
    try {
      // Intl knows the zones croner can use: the same database.
      new Intl.DateTimeFormat('en-US', { timeZone: tz })
      return
    } catch {
      // Reported below.
    }
  }
  throw new ConfigError(`${where}: unknown time zone ${JSON.stringify(tz)}; give an IANA name such as 'Europe/Paris' or 'UTC'`)
}

/** The slots of a checked timing from `anchor`. */
export function slotsOf(timing: CheckedTiming, anchor: number): Slots {
  if (timing.every !== null) {
    const every = timing.every
    return {
      first: anchor,
      after: (due) => due + every,
      latest: (now) => (now < anchor ? null : anchor + Math.floor((now - anchor) / every) * every),
    }
  }
  const cron = new Cron(timing.cron!, timing.tz === null ? {} : { timezone: timing.tz })
  // croner's nextRun is strictly after its reference, to the second.
  const next = (after: number): number | null => cron.nextRun(new Date(after))?.getTime() ?? null
  return {
    first: next(anchor - 1),
    after: next,
    latest(now) {
      // A run earlier in the reference's second counts: `now + 1` includes a run at `now` itself.
      const run = cron.previousRuns(1, new Date(now + 1))[0]?.getTime()
      return run === undefined || run < anchor ? null : run
    },
  }
}
