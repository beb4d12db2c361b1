import type { JobsOptions, RepeatableOptions } from 'bullmq'
import { type AddInput, storeJob } from './add.js'
import { ErrorCode } from './errors.js'
import { clone } from './job-record.js'
import type { QueueState, SchedulerRecord } from './queue-state.js'
import { removeQuietly } from './removal.js'

/**
 * Job schedulers (BullMQ's addJobScheduler / updateJobScheduler): a scheduler's fields (the
 * Redis hash, values as strings) and its next time; each iteration is a job with the id
 * `repeat:<scheduler id>:<millis>`, so racing producers make one job. A scheduler's next time
 * (and the millis of its iterations' ids) is on the store's clock, as the delayed set is: under
 * a virtual clock the caller's frame (`Date.now()`) stands still while virtual hours pass, so an
 * `every` computed there would fall further behind at each iteration. Times from BullMQ's
 * classes (a pattern's next time, startDate) are carried over from their frame on the way in.
 */
function iterationId(schedulerId: string, millis: number): string {
  return `repeat:${schedulerId}:${millis}`
}

/** BullMQ's getJobSchedulerEveryNextMillis. */
function everyNext(prevMillis: number | undefined, every: number, now: number, offset0: number | undefined, startDate: number | undefined): [number, number] {
  let offset = offset0
  let next: number
  if (prevMillis === undefined) {
    if (startDate !== undefined && !Number.isNaN(startDate)) next = startDate > now ? startDate : now
    else if (offset !== undefined && offset > 0) {
      next = Math.floor(now / every) * every + offset
      if (next <= now) next += every
    } else next = now
  } else {
    next = prevMillis + every
    if (next < now) {
      const aligned = Math.floor(now / every) * every + (offset ?? 0)
      next = aligned <= now ? aligned + every : aligned
    }
  }
  if (offset === undefined || offset === 0) offset = next - Math.floor(next / every) * every
  return [Math.floor(next), Math.floor(offset)]
}

function enqueueIteration(q: QueueState, jobId: string, name: string, data: string, opts: JobsOptions, delay: number, schedulerId: string): void {
  const jobOpts = { ...clone(opts), delay, jobId }
  const input: AddInput = { name, data, opts: jobOpts, timestamp: q.store.toCallerTime(q.now()), repeatJobKey: schedulerId }
  const job = storeJob(q, jobId, input)
  if (delay !== 0) {
    const due = q.addDelayed(job, q.now() + delay)
    q.emit({ event: 'delayed', jobId, delay: q.store.toCallerTime(due) })
  } else {
    if (job.priority > 0) q.addWithPriority(job, job.priority)
    else q.addToWait(job, jobOpts.lifo === true)
    q.emit({ event: 'waiting', jobId })
  }
}

/** Removes a pending iteration still waiting (delayed, prioritized or wait). */
function removePending(q: QueueState, jobId: string): boolean {
  const job = q.jobs.get(jobId)
  if (job === undefined || (job.state !== 'delayed' && job.state !== 'prioritized' && job.state !== 'wait')) return false
  // BullMQ looks in the legacy paused list while paused (empty since v6): a waiting iteration stays.
  if (job.state === 'wait' && q.isPaused()) return false
  removeQuietly(q, job, true)
  return true
}

export function addJobScheduler(
  q: QueueState,
  schedulerId: string,
  nextMillis0: number,
  templateData: string,
  templateOpts: JobsOptions,
  opts: RepeatableOptions & { name?: string },
  delayedJobOpts: JobsOptions,
): [string, number] | number {
  const now = q.now()
  const prevMillis = q.schedulerTimes.score(schedulerId)
  const prev = q.schedulers.get(schedulerId)
  const every = opts.every
  const jobOffset = (delayedJobOpts as { repeat?: { offset?: number } }).repeat?.offset
  const offset = opts.offset ?? jobOffset ?? 0
  let nextMillis = q.store.fromJobTime(nextMillis0)
  let newOffset = offset
  let updatedEvery = false
  if (every) {
    let millis = prevMillis
    if (prevMillis !== undefined && Number(prev?.every) !== every) {
      millis = undefined
      updatedEvery = true
    }
    const startDate = opts.startDate === undefined ? undefined : q.store.fromJobTime(Number(opts.startDate))
    ;[nextMillis, newOffset] = everyNext(millis, every, now, offset, startDate)
  }
  let removedPrev = false
  if (prevMillis !== undefined) removedPrev = removePending(q, iterationId(schedulerId, prevMillis))
  const schedulerOpts: Record<string, unknown> = { ...opts }
  if (removedPrev) {
    if (every && !updatedEvery) nextMillis = prevMillis!
  } else schedulerOpts.offset = newOffset

  let jobId = iterationId(schedulerId, nextMillis)
  let collision = false
  if (q.jobs.has(jobId)) {
    if (every) {
      let scans = 0
      let exists = true
      while (exists && scans < 32) {
        nextMillis += every
        jobId = iterationId(schedulerId, nextMillis)
        scans++
        exists = q.jobs.has(jobId)
      }
      if (exists) return ErrorCode.SchedulerJobSlotsBusy
    } else collision = true
  }
  if (collision && !removedPrev) return ErrorCode.SchedulerJobIdCollision
  const delay = Math.max(0, nextMillis - now)
  storeScheduler(q, schedulerId, nextMillis, schedulerOpts, templateData, templateOpts)
  q.idCounter++
  enqueueIteration(q, jobId, String(opts.name ?? ''), templateData, delayedJobOpts, delay, schedulerId)
  return [jobId, delay]
}

function storeScheduler(q: QueueState, id: string, nextMillis: number, opts: Record<string, unknown>, templateData: string, templateOpts: JobsOptions): void {
  const prev = q.schedulers.get(id)
  const rec: SchedulerRecord = { name: String(opts.name ?? '') }
  for (const k of ['tz', 'limit', 'pattern', 'startDate', 'endDate', 'every'] as const) {
    const v = opts[k]
    if (v !== undefined && v !== null && v !== false) rec[k] = String(v)
  }
  if (opts.offset !== undefined && opts.offset !== null && opts.offset !== false) rec.offset = String(opts.offset)
  else if (prev?.offset !== undefined) rec.offset = prev.offset
  const optsJson = JSON.stringify(templateOpts ?? {})
  if (optsJson !== '{}') rec.opts = optsJson
  if (templateData && templateData !== '{}') rec.data = templateData
  rec.ic = prev?.ic ?? '1'
  q.schedulers.set(id, rec)
  q.schedulerTimes.add(id, nextMillis)
  q.touchQueue()
}

/** The next iteration when the current one (`producerId`) is picked up; null when stale or gone. */
export function updateJobScheduler(
  q: QueueState,
  schedulerId: string,
  nextMillis0: number,
  delayedJobOpts: JobsOptions,
  producerId: string | undefined,
): string | null {
  const prevMillis = q.schedulerTimes.score(schedulerId)
  if (prevMillis === undefined) return null
  const rec = q.schedulers.get(schedulerId) ?? {}
  const now = q.now()
  const jobOpts = clone(delayedJobOpts) as JobsOptions & { repeat?: { every?: number; offset?: number } }
  let every = rec.every !== undefined ? Number(rec.every) : undefined
  if (every === undefined && jobOpts.repeat?.every) every = Number(jobOpts.repeat.every)
  let nextMillis = q.store.fromJobTime(nextMillis0)
  if (every) {
    const offset = rec.offset !== undefined ? Number(rec.offset) : (jobOpts.repeat?.offset ?? 0)
    const startDate = rec.startDate !== undefined ? q.store.fromJobTime(Number(rec.startDate)) : undefined
    ;[nextMillis] = everyNext(prevMillis, every, now, offset, startDate)
  }
  const nextId = iterationId(schedulerId, nextMillis)
  if (producerId !== iterationId(schedulerId, prevMillis)) return null
  if (q.jobs.has(nextId)) {
    q.emit({ event: 'duplicated', jobId: nextId })
    return null
  }
  q.schedulerTimes.add(schedulerId, nextMillis)
  rec.ic = String(Number(rec.ic ?? '0') + 1)
  q.schedulers.set(schedulerId, rec)
  q.idCounter++
  q.touchQueue()
  const delay = Math.max(0, nextMillis - now)
  enqueueIteration(q, nextId, rec.name ?? '', rec.data ?? '{}', jobOpts, delay, schedulerId)
  return nextId
}

/** 0 removed, 1 no such scheduler. */
export function removeJobScheduler(q: QueueState, schedulerId: string): number {
  const millis = q.schedulerTimes.score(schedulerId)
  if (millis !== undefined) {
    const jobId = iterationId(schedulerId, millis)
    const job = q.jobs.get(jobId)
    if (job !== undefined && job.state === 'delayed') {
      removeQuietly(q, job, false)
      q.emit({ event: 'removed', jobId, prev: 'delayed' })
    }
  }
  if (q.schedulerTimes.remove(schedulerId)) {
    q.schedulers.delete(schedulerId)
    q.touchQueue()
    return 0
  }
  return 1
}
