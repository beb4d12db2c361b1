import type { JobJson, ParentKeyOpts } from 'bullmq'
import * as add from '../add.js'
import { inputFromJson } from '../add.js'
import { check } from '../errors.js'
import type { BackendContext } from './context.js'

/** Adding jobs: one, many, and a flow's jobs across queues. */

export function addJob(c: BackendContext, job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
  return c.run((q) => {
    const result = add.addJob(q, inputFromJson(job, parentKeyOpts), jobId ?? '')
    return check<string>(result, { jobId, command: 'addJob', ...(parentKeyOpts?.parentKey ? { parentKey: parentKeyOpts.parentKey } : {}) })
  })
}

export function addJobs(c: BackendContext, entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
  return c.run((q) =>
    entries.map((e) =>
      check<string>(add.addJob(q, inputFromJson(e.job, e.parentKeyOpts), e.jobId ?? ''), {
        jobId: e.jobId,
        command: 'addJob',
        ...(e.parentKeyOpts?.parentKey ? { parentKey: e.parentKeyOpts.parentKey } : {}),
      }),
    ),
  )
}

export function addFlow(
  c: BackendContext,
  entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
): Promise<[Error | null, string | number][]> {
  return c.run(() =>
    entries.map((e): [Error | null, string | number] => {
      const q = c.store.queue(e.prefix, e.queueName)
      return [null, add.addJob(q, inputFromJson(e.jobData, e.parentKeyOpts), e.jobId ?? '')]
    }),
  )
}
