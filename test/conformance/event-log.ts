/** Every task event of an app, recorded in the order emitted, for scenarios that assert events. */
import type { CeleriacEvents } from '../../src/index.js'
import type { Harness } from './harness.js'

export type TaskEventName = Extract<keyof CeleriacEvents, `task-${string}`>
export type Recorded = { [K in TaskEventName]: { type: K; event: Parameters<CeleriacEvents[K]>[0] } }[TaskEventName]

const NAMES: readonly TaskEventName[] = [
  'task-sent',
  'task-received',
  'task-started',
  'task-progress',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-revoked',
  'task-rejected',
]

/** Every task event, in the order emitted. */
export function record(h: Harness): Recorded[] {
  const out: Recorded[] = []
  for (const type of NAMES) h.app.events.on(type, ((event: Recorded['event']) => out.push({ type, event } as Recorded)) as never)
  return out
}

/** The payloads of one event type, in order. */
export function pick<K extends TaskEventName>(events: readonly Recorded[], type: K): Array<Parameters<CeleriacEvents[K]>[0]> {
  return events.filter((e) => e.type === type).map((e) => e.event as Parameters<CeleriacEvents[K]>[0])
}
