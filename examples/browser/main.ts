/**
 * The example page: a chord over chunks of a dataset, run in Web Workers, stored in IndexedDB,
 * with a progress bar per chunk. The work survives a reload; with several tabs one leads.
 *
 * `?pace=<ms>` is the pause after each record (default 4, so a run lasts long enough to reload
 * half-way; 0 runs flat out); `?records=<n>` sizes the dataset (default 4000).
 */
import { Celeriac, chord, indexedDBStorage, webWorkers } from '../../src/browser.js'
import { chunkRows } from './chunk-rows.js'
import { chunked, defineDatasetTasks } from './tasks.js'

const params = new URLSearchParams(location.search)
const whole = (name: string, fallback: number): number => {
  const value = Number(params.get(name) ?? fallback)
  return Number.isInteger(value) && value >= 0 ? value : fallback
}
const PACE_MS = whole('pace', 4)
const RECORDS = Math.max(1, whole('records', 4_000))
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
const start = $('start') as HTMLButtonElement
const clear = $('clear') as HTMLButtonElement
start.textContent = `Process ${RECORDS.toLocaleString('en')} records`

interface Workflow {
  chunks: string[]
  report: string
}
/** The workflow this page shows, and its rows. */
let current: { workflow: Workflow; rows: { stop(): void } } | undefined

async function follow(workflow: Workflow): Promise<void> {
  // One workflow at a time: a second click (a double click) queues nothing more.
  start.disabled = true
  $('chunks').innerHTML = ''
  const shown = { workflow, rows: chunkRows(app, $('chunks'), workflow.chunks) }
  current = shown
  $('summary').textContent = 'Working…'
  try {
    const report = await app.AsyncResult<{ chunks: number; records: number; primes: number }>(workflow.report).get()
    if (current !== shown) return
    $('summary').textContent = `Done: ${report.chunks} chunks, ${report.records} records, ${report.primes} primes`
    document.body.dataset.done = 'yes'
  } catch (error) {
    if (current === shown) $('summary').textContent = `Failed: ${(error as Error).message}`
  }
  if (current === shown) start.disabled = false
}

start.addEventListener('click', async () => {
  if (start.disabled) return
  start.disabled = true
  delete document.body.dataset.done
  const report = `report-${Date.now()}`
  const result = await chord(
    chunked(RECORDS, CHUNK).map((ids) => processChunk.s(ids, PACE_MS)),
    aggregate.s().set({ taskId: report }),
  ).delay()
  const header = result.parent as unknown as { results: Array<{ id: string }> }
  const workflow = { chunks: header.results.map((r) => r.id), report }
  localStorage.setItem(saved, JSON.stringify(workflow))
  await follow(workflow)
})

// Forgetting stops the work too: its tasks are revoked (the running ones terminated), so nothing
// goes on out of sight, in this tab or after a reload.
clear.addEventListener('click', async () => {
  clear.disabled = true
  const stored = localStorage.getItem(saved)
  const workflow = current?.workflow ?? (stored === null ? undefined : (JSON.parse(stored) as Workflow))
  current?.rows.stop()
  current = undefined
  try {
    if (workflow !== undefined) await app.control.revoke([...workflow.chunks, workflow.report], { terminate: true })
    localStorage.removeItem(saved)
    $('chunks').innerHTML = ''
    $('summary').textContent = workflow === undefined ? 'Nothing stored.' : 'Forgotten: its tasks were revoked.'
  } catch (error) {
    $('summary').textContent = `Could not forget the work: ${(error as Error).message}`
  } finally {
    delete document.body.dataset.done
    clear.disabled = false
    start.disabled = false
  }
})

/** The lock the leading tab holds (NOTES.md, `consume: 'leader'`). */
const LEADER_LOCK = `celeriac:${app.name}:leader`

/** Which tab leads, said only once it is known, and what this tab's workers are doing. */
async function role(): Promise<string> {
  if (!app.isConsumer) {
    const locks = await navigator.locks.query()
    if (app.isConsumer) return role()
    // Held by another tab while this tab's request waits: another tab leads.
    const another = locks.held?.some((l) => l.name === LEADER_LOCK) && locks.pending?.some((l) => l.name === LEADER_LOCK)
    return another === true ? 'Another tab leads; this one follows.' : 'Finding out which tab leads…'
  }
  const running = app.inspect.active().length
  const waiting = app.inspect.reserved().length + app.inspect.scheduled().length
  const work = running + waiting === 0 ? 'nothing running or waiting' : `${running} running, ${waiting} waiting`
  return `This tab leads: the tasks run in its workers (${work}).`
}
const showRole = async (): Promise<void> => {
  $('role').textContent = await role()
}

$('role').textContent = 'Finding out which tab leads…'
start.disabled = true
await app.start()
// The stored work is read first, before this tab, once elected, runs again what a reload cut
// short: so its rows see the progress go back and say "restarted".
const previous = localStorage.getItem(saved)
const following = previous === null ? undefined : follow(JSON.parse(previous) as Workflow)
if (following === undefined) start.disabled = false
await showRole()
setInterval(() => void showRole(), 250)
document.body.dataset.ready = 'yes'
await following
