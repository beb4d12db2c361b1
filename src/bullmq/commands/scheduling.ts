import type { JobsOptions, RepeatableOptions } from 'bullmq'
import * as schedulers from '../schedulers.js'
import { check } from '../errors.js'
import { clone } from '../job-record.js'
import type { BackendContext } from './context.js'

/** Job schedulers: adding, advancing, removing and reading them. */

export function addJobScheduler(
  c: BackendContext,
  jobSchedulerId: string,
  nextMillis: number,
  templateData: string,
  templateOpts: JobsOptions,
  opts: RepeatableOptions,
  delayedJobOpts: JobsOptions,
): Promise<[string, number]> {
  return c.run((q) =>
    check<[string, number]>(
      schedulers.addJobScheduler(q, jobSchedulerId, nextMillis, templateData, clone(templateOpts ?? {}), clone(opts), clone(delayedJobOpts ?? {})),
      {
        command: 'addJobScheduler',
      },
    ),
  )
}

export function updateJobSchedulerNextMillis(
  c: BackendContext,
  jobSchedulerId: string,
  nextMillis: number,
  _templateData: string,
  delayedJobOpts: JobsOptions,
  producerId?: string,
): Promise<string | null> {
  return c.run((q) => schedulers.updateJobScheduler(q, jobSchedulerId, nextMillis, delayedJobOpts ?? {}, producerId))
}

export function removeJobScheduler(c: BackendContext, jobSchedulerId: string): Promise<number> {
  return c.run((q) => schedulers.removeJobScheduler(q, jobSchedulerId))
}

export function getJobScheduler(c: BackendContext, id: string): Promise<[string[] | null, string | null]> {
  return c.run((q) => {
    const rec = q.schedulers.get(id)
    const next = q.schedulerTimes.score(id)
    if (rec === undefined || next === undefined) return [null, null]
    return [Object.entries(rec).flat(), String(q.store.toCallerTime(next))]
  })
}

export function isJobScheduler(c: BackendContext, id: string): Promise<boolean> {
  return c.run((q) => q.schedulers.get(id)?.ic !== undefined)
}

export function getJobSchedulerData(c: BackendContext, key: string): Promise<Record<string, string>> {
  return c.run((q) => ({ ...(q.schedulers.get(key) ?? {}) }))
}

export function getJobSchedulersRange(c: BackendContext, start: number, end: number, asc: boolean): Promise<string[]> {
  return c.run((q) => {
    const ids = q.schedulerTimes.range(start, end, !asc)
    return ids.flatMap((id) => [id, String(q.store.toCallerTime(q.schedulerTimes.score(id) ?? 0))])
  })
}

export function getJobSchedulersCount(c: BackendContext): Promise<number> {
  return c.run((q) => q.schedulerTimes.size)
}
