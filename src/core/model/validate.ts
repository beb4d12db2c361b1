/** Checks at the edge: bad input gets a ConfigError that says what to do. */
import { ConfigError } from './errors.js'
import type { Rate } from './options.js'

export function checkPriority(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 9) {
    throw new ConfigError(`${where}: priority must be a whole number from 0 to 9 (higher runs first), got ${describe(value)}`)
  }
  return value
}

/** A duration in ms: finite and >= 0 (or > 0 with `positive`). */
export function checkDuration(value: unknown, where: string, positive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new ConfigError(`${where} must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds, got ${describe(value)}`)
  }
  return value
}

/** A time: a valid Date or epoch ms. */
export function checkTime(value: unknown, where: string): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw new ConfigError(`${where} is an invalid Date`)
    return ms
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value
  throw new ConfigError(`${where} must be a Date or epoch milliseconds, got ${describe(value)}`)
}

export function checkName(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`${where} must be a non-empty string, got ${describe(value)}`)
  }
  return value
}

const RATE = /^(\d+(?:\.\d+)?)\/([smh])$/
const PER = { s: 1000, m: 60_000, h: 3_600_000 } as const

/**
 * Parses a rate into the interval between executions, ms (Celery's token bucket has capacity 1,
 * so a rate is an even spacing). `null`/0 = no limit.
 */
export function parseRate(rate: Rate | null | undefined, where: string): number | null {
  if (rate === null || rate === undefined || rate === 0) return null
  if (typeof rate === 'number') {
    if (!Number.isFinite(rate) || rate < 0) throw new ConfigError(`${where}: a rate must be a positive number per second, got ${rate}`)
    return 1000 / rate
  }
  const match = typeof rate === 'string' ? RATE.exec(rate) : null
  if (match === null) {
    throw new ConfigError(`${where}: bad rate ${describe(rate)}; write it as '10/s', '100/m', '1/h' or a number per second`)
  }
  const count = Number(match[1])
  if (count === 0) return null
  return PER[match[2] as keyof typeof PER] / count
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (value instanceof Date) return `Date(${String(value.getTime())})`
  return typeof value
}
