/**
 * `app.schedules` on BullMQ's job schedulers: each celeriac schedule is one scheduler (same id)
 * in the queue its task goes to, whose job template carries the task's message. BullMQ keeps one
 * pending job per scheduler and adds the next when a Worker takes the current one, atomically in
 * Redis, so a slot is one job whatever processes run, crash or restart. A celeriac Worker takes
 * that job as the slot's own task, `<schedule id>@<due ms>` (`slotOf`); a purge keeps the
 * pending jobs (`purgeAround`). See NOTES.md ("Periodic tasks", "On bullmqTransport") for the
 * mapping and what it leaves out.
 */
import type { IQueueBackend, Job, JobSchedulerJson, Queue, RepeatOptions } from 'bullmq'
import { ConfigError } from '../../core/model/errors.js'
import type { TaskMessage } from '../../core/model/message.js'
import type { Clock } from '../../core/time/clock.js'
import type { BrokerSchedule, BrokerScheduleState, TransportSchedules } from '../../core/engine/transport.js'
import type { Storage } from '../../storage/types.js'
import type { JobData } from './delivery.js'
import type { JobOptions } from './job-options.js'

type Admin = Queue<JobData, unknown, string, JobData, unknown, string, IQueueBackend>

/** A schedule as its scheduler's template keeps it (the message is the template's own). */
type ScheduleTemplate = NonNullable<JobData['schedule']>

/** What the schedules need of their transport. */
export interface ScheduleHost {
  /** The app clock (the host's, once opened). */
  clock(): Clock
  /** The Queue of `name`. */
  queue(name: string): Admin
  /** Where each schedule's queue is recorded (the transport's store, shared by every process). */
  readonly store: Storage
  /** The job options of a message (priority, attempts, retention), as a send gives them. */
  jobOptions(message: TaskMessage): JobOptions
  /**
   * Over `bullmqBackend()` on a virtual clock, BullMQ's classes take times on the `Date.now()`
   * frame while a scheduler's iterations are named on the app clock; elsewhere both are one.
   */
  readonly shifted: boolean
}

/** The store record of a schedule's queue: which queue list() and remove() look in. */
const INDEX = 'bullmq-schedule:'

/** How many times `#state` reads a scheduler again that moved on while it was read (see there). */
const MAX_REREADS = 10

/** The states of a scheduler's pending iteration. */
const PENDING: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'delayed', 'paused'])

export class BullmqSchedules implements TransportSchedules {
  readonly #host: ScheduleHost

  constructor(host: ScheduleHost) {
    this.#host = host
  }

  async upsert(schedule: BrokerSchedule): Promise<BrokerScheduleState> {
    if (schedule.missed !== 'once') {
      throw new ConfigError(
        `schedules.upsert '${schedule.id}': missed '${schedule.missed}' is not available on bullmqTransport: BullMQ's job scheduler keeps one pending job, which runs once however many slots passed, and goes on from the next slot after now; use missed: 'once' (the default), or an app with a storage for '${schedule.missed}'`,
      )
    }
    const { message, ...template } = schedule
    const queue = message.queue
    const old = (await this.#host.store.get('meta', INDEX + schedule.id)) as { queue: string } | undefined
    if (old !== undefined && old.queue !== queue) await this.#host.queue(old.queue).removeJobScheduler(schedule.id)
    await this.#host.store.write([{ op: 'put', ns: 'meta', key: INDEX + schedule.id, value: { queue } }])
    const q = this.#host.queue(queue)
    const existing = ours(await q.getJobScheduler(schedule.id))
    const kept = existing?.template?.data?.schedule
    const data: JobData = { message, stalls: 0, schedule: template }
    // Unchanged (every start of an app whose config has the schedule): left as it is, so a slot
    // that came due while no process ran stays pending and runs (a cron upsert would move it on).
    if (existing !== undefined && JSON.stringify(existing.template?.data) === JSON.stringify(data)) return this.#state(q, existing)
    const sameTiming =
      kept !== undefined && kept.every === template.every && kept.cron === template.cron && kept.tz === template.tz && kept.startAt === template.startAt
    const prior = existing === undefined || !sameTiming ? undefined : await this.#state(q, existing)
    // A new timing starts afresh (count 0), as on every storage. A limit lowered to the slots
    // sent leaves BullMQ no iteration to make (it would ignore the upsert, and the pending one
    // would still run): the scheduler goes.
    if ((existing !== undefined && !sameTiming) || (prior !== undefined && template.limit !== null && prior.count >= template.limit)) {
      await q.removeJobScheduler(schedule.id)
    }
    if (prior !== undefined && template.limit !== null && prior.count >= template.limit) return { schedule, next: null, count: prior.count }
    const repeat = this.#repeat(template, existing !== undefined && prior !== undefined ? { ...existing, sent: prior.count } : undefined)
    await q.upsertJobScheduler(schedule.id, repeat, { name: message.task, data, opts: this.#host.jobOptions(message) })
    const now = ours(await q.getJobScheduler(schedule.id))
    return now === undefined ? { schedule, next: null, count: prior?.count ?? 0 } : this.#state(q, now)
  }

  async remove(id: string): Promise<boolean> {
    const key = INDEX + id
    const old = (await this.#host.store.get('meta', key)) as { queue: string } | undefined
    if (old === undefined) return false
    const existed = await this.#host.queue(old.queue).removeJobScheduler(id)
    await this.#host.store.write([{ op: 'delete', ns: 'meta', key }])
    return existed
  }

  async list(): Promise<BrokerScheduleState[]> {
    const found: BrokerScheduleState[] = []
    for (const [key, value] of await this.#host.store.entries('meta')) {
      if (!key.startsWith(INDEX)) continue
      const q = this.#host.queue((value as { queue: string }).queue)
      const json = ours(await q.getJobScheduler(key.slice(INDEX.length)))
      if (json !== undefined) found.push(await this.#state(q, json))
    }
    return found.sort((a, b) => (a.schedule.id < b.schedule.id ? -1 : a.schedule.id > b.schedule.id ? 1 : 0))
  }

  /**
   * BullMQ's repeat options for a schedule. `every`: slots on celeriac's grid (`startAt`, else
   * one interval after the upsert, plus whole intervals), given as BullMQ's `offset` (the grid's
   * place in the interval, computed by BullMQ on its own clock: exact on every frame; `every`
   * itself for a grid on multiples, as 0 means none), and `startDate` only for a first slot
   * further than one interval ahead. `keep`: the scheduler of the same timing, whose place
   * (offset, start) stays, and the slots it has sent.
   */
  #repeat(s: ScheduleTemplate, keep: (JobSchedulerJson<JobData> & { sent: number }) | undefined): Omit<RepeatOptions, 'key'> {
    const now = this.#host.clock().now()
    const bounds = {
      ...(s.endAt === null ? {} : { endDate: this.#toBullmq(s.endAt) }),
      ...(s.limit === null ? {} : { limit: s.limit }),
      // BullMQ numbers the job it (re-)adds `count + 1`, and checks `limit` against that number.
      ...(keep === undefined ? {} : { count: keep.sent }),
    }
    if (s.cron !== null) {
      return { pattern: s.cron, ...(s.tz === null ? {} : { tz: s.tz }), ...(s.startAt === null ? {} : { startDate: this.#toBullmq(s.startAt) }), ...bounds }
    }
    const every = s.every!
    if (keep !== undefined) {
      return {
        every,
        ...(keep.offset === undefined ? {} : { offset: keep.offset }),
        ...(keep.startDate === undefined ? {} : { startDate: keep.startDate }),
        ...bounds,
      }
    }
    const anchor = s.startAt ?? now + every
    const offset = anchor % every || every
    return { every, offset, ...(anchor > now + every ? { startDate: this.#toBullmq(anchor) } : {}), ...bounds }
  }

  /**
   * How far a scheduler has fired: its pending iteration is the next slot; the slots sent are
   * the iterations made before it (BullMQ numbers each in `opts.repeat.count`; its `ic` counter
   * misses a re-add), less one made before the end and dropped (slotOf).
   */
  async #state(q: Admin, read: JobSchedulerJson<JobData>): Promise<BrokerScheduleState> {
    const id = read.template!.data!.schedule!.id
    let json = read
    let last = json.next === undefined ? undefined : await this.#last(q, id, json.next)
    // The scheduler and its iteration are separate reads: a Worker may take the iteration, make
    // the next and finish it in between (a loaded process, a short interval), and the finished
    // (or removed) one would read as the end. Read again while the scheduler moved on meanwhile;
    // bounded, as each pass needs another slot to have come due and run during the one before.
    for (let pass = 0; pass < MAX_REREADS && (last === undefined || last.state === 'done'); pass++) {
      const again = ours(await q.getJobScheduler(id))
      if (again === undefined || again.next === json.next) break
      json = again
      last = json.next === undefined ? undefined : await this.#last(q, id, json.next)
    }
    const data = json.template!.data!
    const schedule: BrokerSchedule = { ...data.schedule!, message: data.message }
    const ic = json.iterationCount ?? 0
    // BullMQ v6 types a job's options without `repeat`, which scheduler jobs carry.
    const made = (last?.job.opts as { repeat?: { count?: number } } | undefined)?.repeat?.count ?? ic
    const ended = (schedule.limit !== null && made >= schedule.limit) || (schedule.endAt !== null && this.#host.clock().now() > schedule.endAt)
    // Pending, or just taken by a Worker, which makes the next iteration in its next call to
    // Redis: until then it is the schedule's next slot (unless the schedule ends with it).
    if (last !== undefined && (last.state === 'pending' || (last.state === 'active' && !ended))) {
      return { schedule, next: schedule.endAt !== null && last.due > schedule.endAt ? null : last.due, count: made - 1 }
    }
    const dropped = last !== undefined && schedule.endAt !== null && last.due > schedule.endAt
    return { schedule, next: null, count: dropped ? made - 1 : made }
  }

  /**
   * Scheduler `id`'s last iteration (its `next`, on BullMQ's frame), its due time (app clock, as
   * its id has it) and whether it waits, runs or is done; undefined once it is gone (retention). Over
   * `bullmqBackend()` on a virtual clock `next` is on the `Date.now()` frame and iterations are
   * named on the virtual clock, read apart by a few real ms: the queue's jobs are looked through
   * instead (a test backend's small queues).
   */
  async #last(q: Admin, id: string, next: number): Promise<{ job: Job<JobData>; due: number; state: 'pending' | 'active' | 'done' } | undefined> {
    let job: Job<JobData> | undefined
    if (this.#host.shifted) {
      const mine = (await q.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])).filter(
        (j) => j.repeatJobKey === id && j.id !== undefined,
      )
      job = mine.sort((a, b) => dueOf(b.id!) - dueOf(a.id!))[0]
    } else job = await q.getJob(`repeat:${id}:${String(next)}`)
    if (job?.id === undefined) return undefined
    const state = await job.getState()
    return { job, due: dueOf(job.id), state: PENDING.has(state) ? 'pending' : state === 'active' ? 'active' : 'done' }
  }

  /** An app-clock time as BullMQ's classes take it. */
  #toBullmq(at: number): number {
    return this.#host.shifted ? at - this.#host.clock().now() + Date.now() : at
  }
}

/** The due time in an iteration's id, `repeat:<scheduler id>:<ms>`. */
function dueOf(jobId: string): number {
  return Number(jobId.slice(jobId.lastIndexOf(':') + 1))
}

/** A scheduler this transport made (its template carries a schedule), else undefined. */
function ours(json: JobSchedulerJson<JobData> | undefined): JobSchedulerJson<JobData> | undefined {
  return json?.template?.data?.schedule === undefined ? undefined : json
}

/**
 * A job of a celeriac scheduler, as the slot it fires: the template's message with the slot's
 * task id (`<schedule id>@<due ms>`, the due time in the iteration's id `repeat:<id>:<ms>`: the
 * same in every process) and `expires` counted from the slot; `drop` when the slot is after the
 * schedule's `endAt` (BullMQ checks its end date only when it adds an iteration, not the
 * iteration's time). Undefined for any other job (a plain send, or a slot already delivered and
 * moved back by a retry: its data is the slot's message).
 */
export function slotOf(job: Job<JobData>): { message: TaskMessage; drop: boolean } | undefined {
  const { message, schedule } = job.data
  const jobId = job.id
  if (schedule === undefined || jobId === undefined) return undefined
  const due = dueOf(jobId)
  const id = `${schedule.id}@${String(due)}`
  return {
    message: { ...message, id, rootId: id, expires: message.expires === null ? null : due + message.expires },
    drop: schedule.endAt !== null && due > schedule.endAt,
  }
}

/**
 * Drops the waiting jobs of a queue with job schedulers one by one, all but the schedulers'
 * pending iterations: BullMQ's drain would take those too, and a scheduler makes its next
 * iteration only when one is taken, so its schedule would stop for good.
 */
export async function purgeAround(q: Admin): Promise<number> {
  let dropped = 0
  for (const job of await q.getJobs(['waiting', 'prioritized', 'delayed'])) {
    if (job.id === undefined || (job.repeatJobKey !== undefined && job.data.schedule !== undefined)) continue
    dropped += await q.remove(job.id)
  }
  return dropped
}
