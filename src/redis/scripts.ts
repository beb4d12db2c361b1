/**
 * The Lua scripts of `redisStore()` and the argument lists they take. Every key is built inside
 * the script from a base (`<prefix>::`), so one call is one command whatever it touches:
 *
 * - a record: `<prefix>::<ns>:<key>`, its JSON as a string (a PX TTL on expiring results);
 * - a namespace's index: `<prefix>::index:<ns>`, a sorted set of its keys scored by when they
 *   expire (`inf` for never), so `entries` reads one namespace without a SCAN and expired keys
 *   can be dropped by score.
 *
 * The empty segment after the prefix keeps these apart from BullMQ's keys on the same prefix
 * (`<prefix>:<queue>:...`): BullMQ refuses an empty queue name.
 */

/**
 * Checks the reads of a transact, then applies puts and deletes and publishes what changed, all
 * in one script (atomic).
 *
 * ARGV: base, channel, message, read count, then per read (`<ns>:<key>`, expected), then per
 * mutation (op `p`|`d`, ns, key, value, pttl; pttl `0` = no TTL). An expected value is tagged:
 * `0` for absent, `1` followed by the raw string. On a conflict nothing is written and the reply
 * is the current tagged values (so the caller can run its step again without a second read);
 * otherwise the reply is 1.
 */
export const COMMIT_SCRIPT = `
local base = ARGV[1]
local reads = tonumber(ARGV[4])
local i = 5
local current = {}
local conflict = false
for r = 1, reads do
  local v = redis.call('GET', base .. ARGV[i])
  local tagged = '0'
  if v then tagged = '1' .. v end
  current[r] = tagged
  if tagged ~= ARGV[i + 1] then conflict = true end
  i = i + 2
end
if conflict then return current end
local now = nil
local pruned = {}
while i <= #ARGV do
  local ns = ARGV[i + 1]
  local key = ARGV[i + 2]
  local record = base .. ns .. ':' .. key
  local index = base .. 'index:' .. ns
  if ARGV[i] == 'p' then
    local ttl = tonumber(ARGV[i + 4])
    if ttl > 0 then
      redis.call('SET', record, ARGV[i + 3], 'PX', ttl)
      if now == nil then
        local t = redis.call('TIME')
        now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      redis.call('ZADD', index, now + ttl, key)
      -- Members whose record Redis has expired: dropped here, once per namespace and call.
      if not pruned[ns] then
        pruned[ns] = true
        redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. now)
      end
    else
      redis.call('SET', record, ARGV[i + 3])
      redis.call('ZADD', index, 'inf', key)
    end
  else
    -- No record, no member to drop (an expired one's goes with the prune or entries): most
    -- deletes are of outbox entries a root send never wrote.
    if redis.call('DEL', record) == 1 then redis.call('ZREM', index, key) end
  end
  i = i + 5
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`

/**
 * Every live record of one namespace, as `[key, json, key, json, ...]`; index members whose
 * record is gone (expired) are removed on the way.
 *
 * ARGV: base, ns.
 */
export const ENTRIES_SCRIPT = `
local base = ARGV[1]
local ns = ARGV[2]
local index = base .. 'index:' .. ns
local out = {}
for _, key in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local v = redis.call('GET', base .. ns .. ':' .. key)
  if v then
    out[#out + 1] = key
    out[#out + 1] = v
  else
    redis.call('ZREM', index, key)
  end
end
return out
`

/** The tag of an absent value in {@link COMMIT_SCRIPT}'s reads and conflict replies. */
export const ABSENT = '0'

/** A raw value as {@link COMMIT_SCRIPT} compares it: `0` absent, else `1` + the string. */
export function tagged(raw: string | null): string {
  return raw === null ? ABSENT : `1${raw}`
}
