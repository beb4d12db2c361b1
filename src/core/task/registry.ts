/**
 * The tasks of this realm (a page, a process, a worker): the shared registry (`sharedTask`) and,
 * inside a worker, every app its task module created, so the worker finds the tasks by name.
 */
import type { Task } from './task.js'

type AnyTask = Task<never, unknown>

/** An app, as the realm sees it: where its tasks are. */
export interface TaskSource {
  getTask(name: string): AnyTask | undefined
  ownTaskNames(): string[]
}

/** Tasks registered with `sharedTask`, for every app. */
export const sharedRegistry = new Map<string, AnyTask>()

/**
 * Apps created in this realm once a worker starts collecting (strongly: a task module's app is
 * often referenced by nothing else), so the worker finds the tasks its module registered.
 */
let realmApps: Set<TaskSource> | undefined

/** Called by the worker loop before it imports the task module. */
export function collectRealmApps(): void {
  realmApps ??= new Set()
}

/** Whether this realm is a worker (its apps are not started: the main thread's or page's app is). */
export function inWorker(): boolean {
  return realmApps !== undefined
}

/**
 * The copies of celeriac that made an app in this realm: a global (the one thing copies share),
 * so a worker whose task module made its app with another copy (required where the worker was
 * imported, or bundled apart) can say so rather than "no tasks". A copy is its own token.
 */
const COPIES_WITH_APPS = Symbol.for('celeriac.copiesWithApps')
const THIS_COPY = {}

/** Called by every app as it is made: kept once the worker loop collects. */
export function joinRealm(app: TaskSource): void {
  realmApps?.add(app)
  const realm = globalThis as { [COPIES_WITH_APPS]?: Set<object> }
  ;(realm[COPIES_WITH_APPS] ??= new Set()).add(THIS_COPY)
}

/** Whether another copy of celeriac than this one made an app in this realm. */
export function otherCopyMadeApps(): boolean {
  const copies = (globalThis as { [COPIES_WITH_APPS]?: Set<object> })[COPIES_WITH_APPS]
  return copies !== undefined && [...copies].some((copy) => copy !== THIS_COPY)
}

/** The task of a name among the collected apps and the shared registry. */
export function realmTask(name: string): AnyTask | undefined {
  const shared = sharedRegistry.get(name)
  if (shared !== undefined) return shared
  for (const app of realmApps ?? []) {
    const task = app.getTask(name)
    if (task !== undefined) return task
  }
  return undefined
}

/** Names of every task registered in this realm. */
export function realmTaskNames(): string[] {
  const names = new Set(sharedRegistry.keys())
  for (const app of realmApps ?? []) for (const name of app.ownTaskNames()) names.add(name)
  return [...names].sort()
}
