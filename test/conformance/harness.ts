/**
 * The conformance harness, environment-neutral: a started app on a combination, with a virtual
 * clock, a seeded random source and every conformance task. `setup.ts` (Node) and
 * `setup.browser.ts` (Chromium) list the combinations of their environment.
 *
 * Scenario tasks are defined in `tasks-*.ts` modules (functions taking the app), never as
 * closures over test state: worker executors load the same modules in their workers, so a
 * scenario observes behaviour through results, states, events and `self.log` lines only.
 */
import { afterAll, beforeEach, describe } from 'vitest'
import { Celeriac } from '../../src/index.js'
import type { Config, Executor, LogEvent, Storage, Transport } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'
import { defineAllTasks } from './tasks.js'
import type { ConformanceTasks } from './tasks.js'

export interface Combo {
  readonly name: string
  /**
   * Whether code running in a task is known to be that task's without `self` (an async context:
   * AsyncLocalStorage in Node); in a browser only `self` carries it.
   */
  readonly asyncContext: boolean
  storage(): Storage
  executor(): Executor
  /**
   * A transport to run on instead of a storage, its store made by `storage()` or given (apps
   * given the same store share one broker, as processes on one Redis).
   */
  transport?(store: Storage | undefined, clock: VirtualClock): Transport
  /** Scenarios that cannot run on this combination (title -> why); they are skipped, saying why. */
  readonly gaps?: Readonly<Record<string, string>>
  /** Why none of its scenarios can run here (a service that is not reachable); they skip saying so. */
  readonly unavailable?: string
  /** The virtual clock its apps run on (default: `virtualClock()`). */
  clock?(): VirtualClock
}

export interface Harness {
  app: Celeriac
  clock: VirtualClock
  tasks: ConformanceTasks
  /** Lines tasks wrote with `self.log`, in order. */
  logs: LogEvent[]
  /** The texts of `logs`. */
  lines(): string[]
  stop(): Promise<void>
}

/** A started app on `combo` with a virtual clock and every conformance task. */
export async function setup(combo: Combo, config: Config = {}): Promise<Harness> {
  const clock = combo.clock?.() ?? virtualClock()
  const { storage, ...rest } = config
  const where = combo.transport === undefined ? { storage: storage ?? combo.storage() } : { transport: combo.transport(storage, clock) }
  const app = new Celeriac({ name: 'conformance', ...where, executor: combo.executor(), clock, random: seeded(42), ...rest })
  const tasks = defineAllTasks(app)
  const logs: LogEvent[] = []
  app.events.on('log', (e) => logs.push(e))
  await app.start()
  return {
    app,
    clock,
    tasks,
    logs,
    lines: () => logs.map((l) => l.text),
    stop: () => app.stop({ timeout: 1_000 }),
  }
}

/** Runs `body` once per combination, inside a describe named after it; `cleanup` after each. */
export function forEachComboOf(
  combos: readonly Combo[],
  title: string,
  body: (combo: Combo) => void,
  cleanup: () => void | Promise<void> = () => undefined,
): void {
  for (const combo of combos) {
    describe(`${title} [${combo.name}]`, () => {
      afterAll(cleanup, 60_000)
      const { gaps, unavailable } = combo
      if (unavailable !== undefined || gaps !== undefined) {
        beforeEach((context) => {
          const why = unavailable ?? gaps?.[context.task.name]
          if (why !== undefined) context.skip(why)
        })
      }
      body(combo)
    })
  }
}

/**
 * The combinations whose names contain one of the comma-separated words of `filter` (all when it
 * has none), but those whose names contain a word written `!word`.
 */
export function selectCombos(all: readonly Combo[], filter: string | undefined): readonly Combo[] {
  if (filter === undefined || filter.trim() === '') return all
  const words = filter
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
  const left = words.filter((w) => w.startsWith('!')).map((w) => w.slice(1))
  const taken = words.filter((w) => !w.startsWith('!'))
  return all.filter((c) => (taken.length === 0 || taken.some((w) => c.name.includes(w))) && !left.some((w) => c.name.includes(w)))
}

/** A deterministic random source in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
