/**
 * The service's workers in a desktop app: no Redis, the jobs on disk through celeriac's file
 * storage. Run it, kill it (even kill -9) half-way, run it again: the page it was rendering is
 * found stalled and runs again, and every report ends completed.
 *
 *   npx tsx examples/bullmq/desktop.ts [dir]      (default dir: .bullmq-desktop)
 *
 * Delete the directory to start over.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { setDefaultBackendFactory } from 'bullmq'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { fileStorage } from '../../src/node.js'
import { startService } from './service.js'

const dir = process.argv[2] ?? '.bullmq-desktop'
const REPORTS = ['report-1', 'report-2', 'report-3']
const PAGES = 4
const STEP_MS = Number(process.env.STEP_MS ?? 200)

const storage = fileStorage({ dir })
setDefaultBackendFactory(bullmqBackend({ storage }))

const service = await startService(
  {
    async sendMail(mail) {
      console.log(`mail to ${mail.to}: ${mail.text}`)
    },
    async renderPage({ page }, progress) {
      for (const percent of [25, 50, 75, 100]) {
        await sleep(STEP_MS) // the work of a quarter page
        await progress(percent)
      }
      return `page ${String(page)}`
    },
  },
  {
    connection: {}, // BullMQ asks for one; celeriac does not use it
    // A page cut short by a crash holds its lock for 2 s at most: the next start finds it
    // stalled and runs it again within seconds (BullMQ's defaults: 30 s each).
    worker: { lockDuration: 2_000, stalledInterval: 2_000 },
  },
)
const { pages, reports } = service.workers
pages.on('progress', (job, progress) => console.log(`${String(job.id)}: ${String(progress)}%`))
pages.on('stalled', (jobId) => console.log(`${jobId} was cut short by the last exit: it runs again`))
reports.on('completed', (job) => console.log(`${String(job.id)} completed`))

// Adding is idempotent (a report already stored is left alone), so a crash while adding is safe.
let added = 0
for (const id of REPORTS) {
  if ((await service.reports.getJob(id)) !== undefined) continue
  await service.buildReport(id, `Report ${id}`, PAGES)
  added++
}
console.log(added > 0 ? `Added ${String(added)} report(s) of ${String(PAGES)} pages in ${dir}` : `Resuming the reports stored in ${dir}`)

const allCompleted = async () => (await Promise.all(REPORTS.map((id) => service.reports.getJobState(id)))).every((s) => s === 'completed')
await new Promise<void>((resolve, reject) => {
  const check = () => allCompleted().then((yes) => yes && resolve(), reject)
  reports.on('completed', check)
  check()
})
console.log(`All ${String(REPORTS.length)} reports completed:`)
for (const id of REPORTS) console.log((await service.reports.getJob(id))?.returnvalue)

await service.close()
await storage.close()
