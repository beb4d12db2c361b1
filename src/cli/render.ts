/**
 * Each command's answer for a person. The endpoint's JSON is read defensively (a field missing or
 * of another type prints '-'), so a newer app's extra fields or an older one's missing ones never
 * crash the CLI; `--json` shows everything as it came.
 */
import { bar, keyValues, short, table, time } from './format.js'

type Row = Record<string, unknown>

function rows(value: unknown): Row[] {
  return Array.isArray(value) ? value.filter((v): v is Row => typeof v === 'object' && v !== null) : []
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '-'
  return typeof value === 'string' ? value : short(value)
}

/** `inspect active | scheduled | reserved`: a table of tasks. */
export function tasks(value: unknown, what: string): string {
  const list = rows(value)
  return table(
    ['id', 'name', 'queue', 'args', 'eta', 'retries'],
    list.map((t) => [text(t.id), text(t.name), text(t.queue), short(t.args ?? [], 40), time(t.eta), text(t.retries)]),
    `no ${what} tasks`,
  )
}

/** `inspect revoked`: one id a line. */
export function revoked(value: unknown): string {
  const ids = Array.isArray(value) ? value.map(text) : []
  return ids.length === 0 ? 'no revoked ids' : ids.join('\n')
}

/** `inspect stats`: counters (a directory's: by how messages wait, results by state), then the pool's health when there is a pool. */
export function stats(value: unknown): string {
  const s = (typeof value === 'object' && value !== null ? value : {}) as Row
  const pairs: Array<[string, string]> = Object.entries(s)
    .filter(([k]) => k !== 'pool')
    .map(([k, v]) => [k, text(v)])
  const pool = s.pool
  if (typeof pool === 'object' && pool !== null) for (const [k, v] of Object.entries(pool)) pairs.push([`pool.${k}`, text(v)])
  // A directory's stats (--dir) have no pool: no process runs there.
  else if ('pool' in s) pairs.push(['pool', 'none (inline executor)'])
  return keyValues(pairs)
}

/** `inspect queues`: a table, paused ones marked. */
export function queues(value: unknown): string {
  return table(
    ['queue', 'state', 'concurrency', 'active', 'reserved', 'scheduled'],
    rows(value).map((q) => [
      text(q.name),
      q.paused === true ? `paused since ${time(q.pausedAt)}` : 'running',
      text(q.concurrency),
      text(q.active),
      text(q.reserved),
      text(q.scheduled),
    ]),
    'no queues',
  )
}

/** `result <id>`: the record; the traceback last, whole. */
export function result(value: unknown): string {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Row
  const pairs: Array<[string, string]> = [
    ['id', text(r.id)],
    ['task', text(r.task)],
    ['state', text(r.state)],
    ['result', short(r.result ?? null, 200)],
    ['done', time(r.dateDone)],
    ['retries', text(r.retries)],
  ]
  if (typeof r.parentId === 'string') pairs.push(['parent', r.parentId])
  if (Array.isArray(r.children) && r.children.length > 0) pairs.push(['children', r.children.map(text).join(', ')])
  const out = keyValues(pairs)
  return typeof r.traceback === 'string' && r.traceback !== '' ? `${out}\ntraceback:\n${r.traceback}` : out
}

/** `schedules`: a table of the app's periodic tasks. */
export function schedules(value: unknown): string {
  return table(
    ['id', 'timing', 'task', 'next', 'sent'],
    rows(value).map((s) => {
      const timing = typeof s.every === 'number' ? `every ${String(s.every)} ms` : `cron ${text(s.cron)}${typeof s.tz === 'string' ? ` ${s.tz}` : ''}`
      const signature = (typeof s.signature === 'object' && s.signature !== null ? s.signature : {}) as Row
      const task = typeof signature.task === 'string' && signature.task !== '' ? signature.task : text(signature.kind)
      const limit = typeof s.limit === 'number' ? `/${String(s.limit)}` : ''
      return [text(s.id), timing, task, s.next === null ? 'ended' : time(s.next), `${text(s.count)}${limit}`]
    }),
    'no schedules',
  )
}

/**
 * One line per event: time, name, then what the event says (the task's id and name, its result,
 * error or progress bar, the queue paused).
 */
export function eventLine(name: string, data: unknown): string {
  const e = (typeof data === 'object' && data !== null ? data : {}) as Row
  const at = typeof e.timestamp === 'number' ? new Date(e.timestamp).toISOString().slice(11, 23) : '--:--:--.---'
  const head = `${at}  ${name.padEnd(14)}`
  const task = typeof e.id === 'string' ? `  ${e.id}  ${text(e.name)}` : ''
  switch (name) {
    case 'task-sent':
      return `${head}${task}  args=${short(e.args ?? [], 60)}${typeof e.eta === 'number' ? `  eta=${time(e.eta)}` : ''}`
    case 'task-progress':
      return `${head}${task}  ${progress(e.meta) ?? `${text(e.state)} ${short(e.meta ?? null)}`}`
    case 'task-succeeded':
      return `${head}${task}  result=${short(e.result ?? null)}  (${text(e.runtime)} ms)`
    case 'task-failed':
      return `${head}${task}  ${errorText(e.error)}`
    case 'task-retried':
      return `${head}${task}  ${errorText(e.error)}  next at ${time(e.eta)}`
    case 'task-revoked':
      return `${head}${task}  ${text(e.reason)}`
    case 'log':
      return `${head}  ${text(e.id)}  ${text(e.level)}: ${text(e.text)}`
    case 'queue-paused':
    case 'queue-resumed':
      return `${head}  ${text(e.queue)}`
    case 'dropped':
      return `${head}  ${text(e.count)} events dropped: this client read too slowly`
    default:
      return typeof e.id === 'string' || Object.keys(e).length === 0 ? `${head}${task}` : `${head}  ${short(e, 120)}`
  }
}

/** `self.progress()`'s meta as a bar, or undefined for other states' meta. */
function progress(meta: unknown): string | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined
  const { current, total, percent } = meta as Row
  if (typeof percent !== 'number') return undefined
  return `${bar(percent)}${typeof current === 'number' && typeof total === 'number' ? `  ${String(current)}/${String(total)}` : ''}`
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as Row
    return `${text(name)}: ${text(message)}`
  }
  return text(error)
}
