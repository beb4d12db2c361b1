/**
 * Human output: aligned tables, `key: value` blocks, times and progress bars. Machine output
 * (`--json`) does not come through here: it is the endpoint's JSON as it came.
 */

/** Columns aligned with two spaces; a header row in capitals; `empty` when there are no rows. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty: string): string {
  if (rows.length === 0) return empty
  const all = [headers.map((h) => h.toUpperCase()), ...rows]
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)))
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')
}

/** `key: value` lines, keys aligned. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join('\n')
}

/** An epoch-ms time (or an ISO string) as ISO 8601, or '-'. */
export function time(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString()
  if (typeof value === 'string' && value !== '') return value
  return '-'
}

/** A value in one line: strings as they are, the rest as JSON, cut to `max` characters. */
export function short(value: unknown, max = 60): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A progress bar of `width` cells: `[#####-----]  50%`. */
export function bar(percent: number, width = 20): string {
  const p = Math.min(100, Math.max(0, Math.floor(percent)))
  const full = Math.round((p / 100) * width)
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(p).padStart(3)}%`
}
