/**
 * An existing BullMQ service, written for Redis and left as it is: a reminder that is mailed an
 * hour later and retried with exponential backoff when the mail server refuses it, and a report
 * built as a flow, its pages rendered in another queue before the report itself runs.
 *
 * Nothing here knows about celeriac: `vitest.setup.ts` switches BullMQ's classes onto it for the
 * tests, and `desktop.ts` runs the same workers on file storage.
 */
import { FlowProducer, Queue, Worker } from 'bullmq'
import type { ConnectionOptions, WorkerOptions } from 'bullmq'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE

export interface Reminder {
  to: string
  text: string
}

export interface Page {
  report: string
  page: number
}

/** The service's side effects, passed in so tests and apps choose their own. */
export interface Dependencies {
  /** Sends one email; throws when the mail server refuses it. */
  sendMail(mail: Reminder): Promise<void>
  /** Renders one page, reporting its progress (0–100) on the way. */
  renderPage(page: Page, progress: (percent: number) => Promise<void>): Promise<string>
}

export interface ServiceOptions {
  connection: ConnectionOptions
  /** Key prefix of every queue (BullMQ's default: `bull`). */
  prefix?: string
  /** Options of the three workers, over the service's own (e.g. `lockDuration`). */
  worker?: Partial<WorkerOptions>
}

export type Service = Awaited<ReturnType<typeof startService>>

export async function startService(deps: Dependencies, { connection, prefix, worker }: ServiceOptions) {
  const base = { connection, ...(prefix === undefined ? {} : { prefix }) }
  const workerOptions = { ...base, ...worker }

  const mail = new Queue<Reminder>('mail', {
    ...base,
    defaultJobOptions: { attempts: 4, backoff: { type: 'exponential', delay: MINUTE } },
  })
  const reports = new Queue<{ title: string }, string>('reports', base)
  const flows = new FlowProducer(base)

  const workers = {
    mail: new Worker<Reminder>('mail', (job) => deps.sendMail(job.data), workerOptions),
    pages: new Worker<Page, string>('pages', (job) => deps.renderPage(job.data, (percent) => job.updateProgress(percent)), workerOptions),
    // A report runs once all its pages are rendered, and gathers what they returned.
    reports: new Worker<{ title: string }, string>(
      'reports',
      async (job) => {
        const pages = Object.values(await job.getChildrenValues<string>()).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        return [`# ${job.data.title}`, ...pages].join('\n')
      },
      workerOptions,
    ),
  }
  await Promise.all([mail.waitUntilReady(), reports.waitUntilReady(), ...Object.values(workers).map((w) => w.waitUntilReady())])

  return {
    mail,
    reports,
    workers,
    /** Mails `reminder` in an hour. */
    remindLater(reminder: Reminder) {
      return mail.add('reminder', reminder, { delay: HOUR })
    },
    /** Renders `pages` pages in the `pages` queue, then the report in `reports`. */
    buildReport(id: string, title: string, pages: number) {
      return flows.add({
        name: 'report',
        queueName: 'reports',
        data: { title },
        opts: { jobId: id },
        children: Array.from({ length: pages }, (_, i) => ({
          name: 'page',
          queueName: 'pages',
          data: { report: id, page: i + 1 },
          opts: { jobId: `${id}-page-${String(i + 1)}` },
        })),
      })
    },
    async close() {
      await Promise.all(Object.values(workers).map((w) => w.close()))
      await Promise.all([mail.close(), reports.close(), flows.close()])
    },
  }
}
