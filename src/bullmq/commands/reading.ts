import type { DependenciesOpts, JobJson, JobState, JobType } from 'bullmq'
import * as metrics from '../metrics.js'
import * as getters from '../getters.js'
import { dedupOwner } from '../dedup.js'
import { toJobJson } from '../job-record.js'
import { limiterPttl, rateLimitTtl } from '../limiter.js'
import type { BackendContext } from './context.js'

/** Read-only getters: states, counts, ranges, dependencies, metrics, clients. */

export function getState(c: BackendContext, jobId: string): Promise<JobState | 'unknown'> {
  return c.run((q) => getters.getState(q, jobId))
}

export function isFinished(c: BackendContext, jobId: string, returnValue?: boolean): Promise<number | [number, string]> {
  return c.run((q) => getters.isFinished(q, jobId, returnValue === true))
}

export function isMaxed(c: BackendContext): Promise<boolean> {
  return c.run((q) => q.isMaxed())
}

export function isJobInState(c: BackendContext, state: string, jobId: string): Promise<boolean> {
  return c.run((q) => getters.isJobInState(q, state, jobId))
}

export function getJobData(c: BackendContext, jobId: string): Promise<JobJson | undefined> {
  return c.run((q) => {
    const rec = q.jobs.get(jobId)
    return rec === undefined ? undefined : toJobJson(rec)
  })
}

export function getDeduplicationJobId(c: BackendContext, deduplicationId: string): Promise<string | null> {
  return c.run((q) => dedupOwner(q, deduplicationId) ?? null)
}

export function getJobLogs(c: BackendContext, jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
  return c.run((q) => getters.getJobLogs(q, jobId, start, end, asc))
}

export function getRateLimitTtl(c: BackendContext, maxJobs?: number): Promise<number> {
  return c.run((q) => {
    if (maxJobs) return rateLimitTtl(q, maxJobs)
    const max = q.meta.get('max')
    if (max !== undefined) return rateLimitTtl(q, Number(max))
    return limiterPttl(q)
  })
}

export function getCounts(c: BackendContext, types: JobType[]): Promise<number[]> {
  return c.run((q) => types.map((t) => getters.count(q, t)))
}

export function getCountsPerPriority(c: BackendContext, priorities: number[]): Promise<number[]> {
  return c.run((q) => priorities.map((p) => getters.countPriority(q, Number(p))))
}

export function getRanges(c: BackendContext, types: JobType[], start = 0, end = -1, asc = false): Promise<[string][]> {
  return c.run((q) => types.map((t) => getters.range(q, t, start, end, asc)) as unknown as [string][])
}

export function getDependencyCounts(c: BackendContext, jobId: string, types: string[]): Promise<number[]> {
  return c.run((q) => getters.dependencyCounts(q, jobId, types))
}

export function getDependencies(c: BackendContext, jobId: string, opts: DependenciesOpts): Promise<getters.Dependencies> {
  return c.run((q) => getters.dependencies(q, jobId, opts ?? {}))
}

export function getProcessedChildrenValues(c: BackendContext, jobId: string): Promise<Record<string, string>> {
  return c.run((q) => Object.fromEntries(q.jobs.get(jobId)?.processed ?? []))
}

export function getIgnoredChildrenFailures(c: BackendContext, jobId: string): Promise<Record<string, string>> {
  return c.run((q) => Object.fromEntries(q.jobs.get(jobId)?.failedChildren ?? []))
}

export function getMetrics(c: BackendContext, type: 'completed' | 'failed', start = 0, end = -1): Promise<[string[], string[], number]> {
  return c.run((q) => metrics.getMetrics(q, type, start, end))
}

export function getClientList(c: BackendContext): Promise<string[]> {
  return c.run((q) => {
    let id = 0
    const lines = [...q.clients.values()].map((name) => `id=${++id} addr=celeriac fd=0 name=${name} db=0 cmd=bzpopmin`)
    return [lines.join('\n')]
  })
}

export function paginate(c: BackendContext, key: string, opts: { start: number; end: number; fetchJobs?: boolean }): Promise<getters.Page> {
  return c.run((q) => getters.paginate(q, key, opts))
}
