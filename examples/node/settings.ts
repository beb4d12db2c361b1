/** The Node examples' settings, from environment variables (RECORDS, CHUNK, PACE_MS). */

/**
 * The whole number (at least `min`) in environment variable `name`, or `fallback` when it is
 * unset; anything else ends the example with a line saying what to set (no stack trace).
 */
export function setting(name: string, fallback: number, min = 0): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (Number.isInteger(value) && value >= min) return value
  console.error(`${name} must be a whole number of ${String(min)} or more, got ${JSON.stringify(text)}`)
  process.exit(2)
}
