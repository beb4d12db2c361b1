/**
 * The dashboard's tasks: what `inspect` listed when it opened (and on each refresh), updated by
 * the app's events. Bounded: the `max` tasks heard of last are kept (1 000 by default), the
 * first heard of dropped first; a row keeps its place when it changes, so the list does not jump.
 * No DOM: the views read it.
 */
import type { DashboardEvent, InspectSnapshot, TaskInfoView } from './types.js'

/** A task's progress, from `self.progress(current, total)`. */
interface Progress {
  current: number
  total: number
  percent: number
}

/** One task as the dashboard knows it. */
export interface TaskRow {
  id: string
  name: string
  state: string
  queue: string
  /** Its arguments, when its `task-sent` event or `inspect` carried them. */
  args: unknown[] | undefined
  parentId: string | null
  rootId: string | null
  retries: number
  progress: Progress | undefined
  /** Engine clock, epoch ms, of the last change seen. */
  updated: number
  /** ms from start to end, when it ended. */
  runtime: number | undefined
  /** `{ name, message }` of a failure, a retry's cause or a revoke's reason. */
  error: { name: string; message: string } | undefined
  result: unknown
  /** Its `task-sent` event was seen, so a retry can send it again. */
  sent: boolean
}

/** The state groups the filter offers. */
export const STATE_GROUPS = {
  all: [],
  waiting: ['PENDING', 'RECEIVED', 'RETRY'],
  running: ['STARTED', 'PROGRESS'],
  succeeded: ['SUCCESS'],
  failed: ['FAILURE', 'REJECTED'],
  revoked: ['REVOKED'],
} as const satisfies Record<string, readonly string[]>

export type StateGroup = keyof typeof STATE_GROUPS

const ENDED = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'])
const EVENT_STATE: Readonly<Record<string, string>> = {
  'task-sent': 'PENDING',
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-revoked': 'REVOKED',
  'task-rejected': 'REJECTED',
}

export function isEnded(state: string): boolean {
  return ENDED.has(state)
}

export class TaskBoard {
  readonly #max: number
  readonly #rows = new Map<string, TaskRow>()
  /** Bumped on every change, so a view redraws only when something changed. */
  version = 0

  constructor(max = 1_000) {
    this.#max = max
  }

  get size(): number {
    return this.#rows.size
  }

  get(id: string): TaskRow | undefined {
    return this.#rows.get(id)
  }

  /** An event of the app; returns whether it changed a task. */
  apply(event: DashboardEvent): boolean {
    const d = event.data
    const id = str(d.id)
    if (id === undefined) return false
    const state = event.type === 'task-progress' ? (str(d.state) ?? 'PROGRESS') : EVENT_STATE[event.type]
    if (state === undefined) return false
    const row = this.#row(id, d)
    // A late `task-received` after the end (events of other processes may cross) keeps the end.
    if (!(isEnded(row.state) && !isEnded(state) && event.type !== 'task-sent')) row.state = state
    row.updated = num(d.timestamp) ?? row.updated
    row.retries = num(d.retries) ?? row.retries
    if (event.type === 'task-sent') {
      row.args = Array.isArray(d.args) ? d.args : row.args
      row.sent = true
      row.progress = undefined
      row.error = undefined
    }
    if (event.type === 'task-progress') row.progress = progressOf(d.meta) ?? row.progress
    if (event.type === 'task-succeeded') {
      row.result = d.result
      row.runtime = num(d.runtime)
      if (row.progress !== undefined) row.progress = { ...row.progress, current: row.progress.total, percent: 100 }
    }
    if (event.type === 'task-failed' || event.type === 'task-retried') row.error = errorOf(d.error)
    if (event.type === 'task-failed') row.runtime = num(d.runtime)
    if (event.type === 'task-revoked') row.error = { name: 'Revoked', message: str(d.reason) ?? 'revoked' }
    this.#touch(row)
    return true
  }

  /** What `inspect` lists: running tasks are STARTED, ready and scheduled ones waiting. */
  merge(snapshot: InspectSnapshot): void {
    const put = (tasks: readonly TaskInfoView[], state: string): void => {
      for (const t of tasks) {
        const row = this.#row(t.id, { name: t.name, queue: t.queue, parentId: t.parentId, rootId: t.rootId })
        row.args ??= Array.isArray(t.args) ? t.args : undefined
        if (!isEnded(row.state) && !(state === 'STARTED' && row.state === 'PROGRESS')) row.state = state
        this.#touch(row)
      }
    }
    put(snapshot.scheduled ?? [], 'PENDING')
    put(snapshot.reserved ?? [], 'RECEIVED')
    put(snapshot.active ?? [], 'STARTED')
  }

  /** The tasks of a state group whose id or name contains `search`, newest first. */
  list(group: StateGroup, search: string): TaskRow[] {
    const states: readonly string[] = STATE_GROUPS[group]
    const needle = search.trim().toLowerCase()
    const out: TaskRow[] = []
    for (const row of this.#rows.values()) {
      if (states.length > 0 && !states.includes(row.state)) continue
      if (needle !== '' && !row.id.toLowerCase().includes(needle) && !row.name.toLowerCase().includes(needle)) continue
      out.push(row)
    }
    return out.reverse()
  }

  /** The tasks of `row`'s workflow (same root id), the root first, each after its parent. */
  workflow(row: TaskRow): { row: TaskRow; depth: number }[] {
    const root = row.rootId ?? row.id
    const members = [...this.#rows.values()].filter((r) => r.id === root || r.rootId === root)
    const ids = new Set(members.map((m) => m.id))
    const byParent = new Map<string | null, TaskRow[]>()
    for (const m of members) {
      const parent = m.parentId !== null && ids.has(m.parentId) ? m.parentId : null
      byParent.set(parent, [...(byParent.get(parent) ?? []), m])
    }
    const out: { row: TaskRow; depth: number }[] = []
    const walk = (parent: string | null, depth: number): void => {
      for (const m of byParent.get(parent) ?? []) {
        out.push({ row: m, depth })
        walk(m.id, depth + 1)
      }
    }
    walk(null, 0)
    return out
  }

  #row(id: string, d: Record<string, unknown>): TaskRow {
    let row = this.#rows.get(id)
    if (row === undefined) {
      row = {
        id,
        name: str(d.name) ?? '?',
        state: 'PENDING',
        queue: str(d.queue) ?? '-',
        args: undefined,
        parentId: str(d.parentId) ?? null,
        rootId: str(d.rootId) ?? null,
        retries: 0,
        progress: undefined,
        updated: 0,
        runtime: undefined,
        error: undefined,
        result: undefined,
        sent: false,
      }
    }
    return row
  }

  /** Stores the row (a new one last), dropping the first heard of past the bound. */
  #touch(row: TaskRow): void {
    if (!this.#rows.has(row.id)) this.#rows.set(row.id, row)
    if (this.#rows.size > this.#max) {
      const oldest = this.#rows.keys().next().value
      if (oldest !== undefined) this.#rows.delete(oldest)
    }
    this.version++
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

function progressOf(meta: unknown): Progress | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined
  const { current, total } = meta as { current?: unknown; total?: unknown }
  if (typeof current !== 'number' || typeof total !== 'number') return undefined
  return { current, total, percent: total > 0 ? Math.min(100, Math.floor((current / total) * 100)) : 0 }
}

function errorOf(v: unknown): { name: string; message: string } | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const { name, message } = v as { name?: unknown; message?: unknown }
  return { name: str(name) ?? 'Error', message: str(message) ?? '' }
}
