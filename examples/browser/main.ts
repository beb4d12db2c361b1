/**
 * The example page: a chord over chunks of a dataset, run in Web Workers, stored in IndexedDB,
 * with a progress bar per chunk. The work survives a reload; with several tabs one leads.
 */
import { Celeriac, chord, indexedDBStorage, states, webWorkers } from '../../src/browser.js'
import { chunked, defineDatasetTasks } from './tasks.js'

const RECORDS = 4_000
const CHUNK = 250
const saved = 'celeriac-demo-workflow'

const app = new Celeriac({
  name: 'celeriac-demo',
  storage: indexedDBStorage({ name: 'celeriac-demo' }),
  // The Worker expression written out, so bundlers (Vite) see the worker and emit it.
  executor: webWorkers({
    create: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
    size: Math.max(2, Math.min(4, navigator.hardwareConcurrency || 2)),
  }),
  consume: 'leader',
  // A chunk cut short by a reload runs again when the page comes back.
  taskDefaults: { acksLate: true },
})
const { processChunk, aggregate } = defineDatasetTasks(app)

const $ = (id: string): HTMLElement => document.getElementById(id)!

function showChunks(ids: string[]): void {
  const box = $('chunks')
  box.innerHTML = ''
  ids.forEach((id, i) => {
    const row = document.createElement('div')
    row.className = 'chunk'
    row.innerHTML = `<span>chunk ${i + 1}</span><div class="bar"><div></div></div><span class="state">PENDING</span>`
    box.append(row)
    const bar = row.querySelector('.bar > div') as HTMLElement
    const label = row.querySelector('.state') as HTMLElement
    void (async () => {
      for await (const update of app.AsyncResult(id).progress()) {
        const percent = update.state === states.SUCCESS ? 100 : ((update.info as { percent?: number } | null)?.percent ?? 0)
        bar.style.width = `${percent}%`
        label.textContent = update.state === states.PROGRESS ? `${percent}%` : update.state
      }
    })()
  })
}

async function follow(workflow: { chunks: string[]; report: string }): Promise<void> {
  showChunks(workflow.chunks)
  $('summary').textContent = 'Working…'
  const report = await app.AsyncResult<{ chunks: number; records: number; primes: number }>(workflow.report).get()
  $('summary').textContent = `Done: ${report.chunks} chunks, ${report.records} records, ${report.primes} primes`
  document.body.dataset.done = 'yes'
}

$('start').addEventListener('click', async () => {
  const report = `report-${Date.now()}`
  const result = await chord(
    chunked(RECORDS, CHUNK).map((ids) => processChunk.s(ids)),
    aggregate.s().set({ taskId: report }),
  ).delay()
  const header = result.parent as unknown as { results: Array<{ id: string }> }
  const workflow = { chunks: header.results.map((r) => r.id), report }
  localStorage.setItem(saved, JSON.stringify(workflow))
  await follow(workflow)
})

$('clear').addEventListener('click', () => {
  localStorage.removeItem(saved)
  location.reload()
})

await app.start()
const role = (): string => (app.isConsumer ? 'This tab leads: the tasks run in its workers.' : 'Another tab leads; this one follows.')
$('role').textContent = role()
setInterval(() => ($('role').textContent = role()), 500)
document.body.dataset.ready = 'yes'
const previous = localStorage.getItem(saved)
if (previous !== null) await follow(JSON.parse(previous) as { chunks: string[]; report: string })
