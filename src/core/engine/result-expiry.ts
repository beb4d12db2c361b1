/**
 * Result TTL housekeeping: a result past its `expiresAt` already reads as PENDING; this deletes
 * its record so that durable storage (IndexedDB, file snapshots) does not grow forever. The
 * consuming engine runs it at recovery and then every {@link purgeInterval} on a background timer.
 */
import type { ResultRecord } from '../model/message.js'
import type { Mutation, Storage, StorageKey, StoredValue } from '../../storage/types.js'

/** Records deleted per storage call: one transaction stays short, and the journal frames small. */
const BATCH = 500
const MINUTE = 60_000
const DAY = 86_400_000

/** Whether a stored result has outlived its TTL at `now`. */
function isExpired(record: ResultRecord, now: number): boolean {
  return record.expiresAt !== null && record.expiresAt <= now
}

/**
 * How often the purge runs: every `resultExpires`, within a minute and a day (Celery's
 * `backend_cleanup` is daily), so storage holds at most about twice the TTL's worth of results.
 */
export function purgeInterval(resultExpires: number): number {
  return Math.min(Math.max(resultExpires, MINUTE), DAY)
}

/**
 * Deletes the results expired at `now`, in batches; `known` is a scan already made (recovery).
 * Each batch re-reads its records inside its storage call, so a record written anew in between
 * (the id sent again after `forget()`) is kept. Resolves with how many were deleted.
 */
export async function purgeExpiredResults(storage: Storage, now: number, known?: ReadonlyArray<[string, StoredValue]>): Promise<number> {
  const expired: StorageKey[] = []
  for (const [key, value] of known ?? (await storage.entries('results'))) {
    if (isExpired(value as ResultRecord, now)) expired.push({ ns: 'results', key })
  }
  let deleted = 0
  for (let i = 0; i < expired.length; i += BATCH) {
    const keys = expired.slice(i, i + BATCH)
    deleted += await storage.transact(keys, (values) => {
      const mutations: Mutation[] = []
      for (let j = 0; j < keys.length; j++) {
        const record = values[j] as ResultRecord | undefined
        if (record !== undefined && isExpired(record, now)) mutations.push({ op: 'delete', ns: 'results', key: keys[j]!.key })
      }
      return { mutations, result: mutations.length }
    })
  }
  return deleted
}
