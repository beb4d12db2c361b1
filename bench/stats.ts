/** Statistics of the benchmark harness: pure functions, tested in test/bench. */

/** The median of a list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The value at quantile q (0..1) of a list, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

/**
 * How many times better celeriac is than the peer: for a rate (higher is better) celeriac/peer,
 * for a cost such as latency or time (lower is better) peer/celeriac. Above 1 means ahead.
 */
export function advantage(ours: number, peer: number, better: 'higher' | 'lower'): number {
  return better === 'higher' ? ours / peer : peer / ours
}
