import type { DependenciesOpts, JobJson, JobState, JobType } from 'bullmq'
import { BackendConnection } from './backend-connection.js'
import * as meta from './commands/meta.js'
import * as reading from './commands/reading.js'
import * as scheduling from './commands/scheduling.js'
import type { Dependencies, Page } from './getters.js'

/**
 * The members of `CeleriacQueueBackend` (./backend.ts) that only read: a job's state, data, logs and
 * dependencies, counts and ranges, metrics, job schedulers and the queue's meta. Each is one
 * read of the queue's state, as a read-only Lua script is.
 */
export class BackendQueries extends BackendConnection {
  getState(jobId: string): Promise<JobState | 'unknown'> {
    return reading.getState(this.ctx, jobId)
  }

  isFinished(jobId: string, returnValue?: boolean): Promise<number | [number, string]> {
    return reading.isFinished(this.ctx, jobId, returnValue)
  }

  isMaxed(): Promise<boolean> {
    return reading.isMaxed(this.ctx)
  }

  isJobInState(state: string, jobId: string): Promise<boolean> {
    return reading.isJobInState(this.ctx, state, jobId)
  }

  getJobData(jobId: string): Promise<JobJson | undefined> {
    return reading.getJobData(this.ctx, jobId)
  }

  getDeduplicationJobId(deduplicationId: string): Promise<string | null> {
    return reading.getDeduplicationJobId(this.ctx, deduplicationId)
  }

  getJobLogs(jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
    return reading.getJobLogs(this.ctx, jobId, start, end, asc)
  }

  getRateLimitTtl(maxJobs?: number): Promise<number> {
    return reading.getRateLimitTtl(this.ctx, maxJobs)
  }

  getCounts(types: JobType[]): Promise<number[]> {
    return reading.getCounts(this.ctx, types)
  }

  getCountsPerPriority(priorities: number[]): Promise<number[]> {
    return reading.getCountsPerPriority(this.ctx, priorities)
  }

  getRanges(types: JobType[], start?: number, end?: number, asc?: boolean): Promise<[string][]> {
    return reading.getRanges(this.ctx, types, start, end, asc)
  }

  getDependencyCounts(jobId: string, types: string[]): Promise<number[]> {
    return reading.getDependencyCounts(this.ctx, jobId, types)
  }

  getDependencies(jobId: string, opts: DependenciesOpts): Promise<Dependencies> {
    return reading.getDependencies(this.ctx, jobId, opts)
  }

  getProcessedChildrenValues(jobId: string): Promise<Record<string, string>> {
    return reading.getProcessedChildrenValues(this.ctx, jobId)
  }

  getIgnoredChildrenFailures(jobId: string): Promise<Record<string, string>> {
    return reading.getIgnoredChildrenFailures(this.ctx, jobId)
  }

  getMetrics(type: 'completed' | 'failed', start?: number, end?: number): Promise<[string[], string[], number]> {
    return reading.getMetrics(this.ctx, type, start, end)
  }

  getClientList(): Promise<string[]> {
    return reading.getClientList(this.ctx)
  }

  paginate(key: string, opts: { start: number; end: number; fetchJobs?: boolean }): Promise<Page> {
    return reading.paginate(this.ctx, key, opts)
  }

  getJobScheduler(id: string): Promise<[string[] | null, string | null]> {
    return scheduling.getJobScheduler(this.ctx, id)
  }

  isJobScheduler(id: string): Promise<boolean> {
    return scheduling.isJobScheduler(this.ctx, id)
  }

  getJobSchedulerData(key: string): Promise<Record<string, string>> {
    return scheduling.getJobSchedulerData(this.ctx, key)
  }

  getJobSchedulersRange(start: number, end: number, asc: boolean): Promise<string[]> {
    return scheduling.getJobSchedulersRange(this.ctx, start, end, asc)
  }

  getJobSchedulersCount(): Promise<number> {
    return scheduling.getJobSchedulersCount(this.ctx)
  }

  getQueueMetaField(field: string): Promise<string | null> {
    return meta.getQueueMetaField(this.ctx, field)
  }

  getQueueMetaFields(fields: string[]): Promise<(string | null)[]> {
    return meta.getQueueMetaFields(this.ctx, fields)
  }

  getQueueMeta(): Promise<Record<string, string>> {
    return meta.getQueueMeta(this.ctx)
  }

  hasQueueMetaField(field: string): Promise<boolean> {
    return meta.hasQueueMetaField(this.ctx, field)
  }
}
