/**
 * kill -9 at random points: BullMQ's own `Queue` and `Worker` on `bullmqBackend` over file
 * storage, in a child process (fixtures/kill9-worker.ts) killed with SIGKILL again and again
 * while it adds jobs with `addBulk` (and flows with `FlowProducer`), processes them, writes
 * their completions and retries failed ones after a backoff. Each incarnation reopens the same
 * directory; what the last one left active comes back as stalled once its lock expires (short
 * locks and stall checks, on the real clock: the point is where a real process dies). A
 * processor appends (fdatasync) a line to a side log before its body goes on, so every run is
 * on record.
 *
 * After each kill: every job whose add had resolved is stored, under its id, with its data (no
 * id reused); every completion and failure the Worker announced is stored; a completed job's
 * last attempt ran; jobs that never ran keep the order they were added in (wait FIFO, and within
 * a priority). At the end a last incarnation drains the queue and every job must be `completed`
 * (ok, slow, prioritized, delayed, flaky after its third attempt, and flow parents, which check
 * that they see both children's values) or `failed` by its own error after its two attempts;
 * every attempt ran, and was counted as started; a run repeats (at least once) only across a
 * kill or after a stall, and no job runs again after its completion, failure or retry was stored.
 *
 * Kills: CELERIAC_CRASH_ROUNDS (total, default 50, split over two directories run side by
 * side), seed: CELERIAC_CRASH_SEED. The child is bundled once with esbuild (BullMQ and its
 * dependencies included) and spawned with plain node: with `--import tsx` each start took 2-3 s
 * on a loaded 2-core machine (tsx transforms every module BullMQ loads), bundled 0.6-0.9 s, and
 * the starts are most of the test's time. So each incarnation is spawned as soon as the one
 * before is killed and starts up while the test reads what the kill left; it opens the storage
 * only when told to (a line on its stdin, test/child-go.ts), after that read.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { fileStorage } from '../../src/node.js'
import { spawnIncarnation } from '../incarnation.js'
import type { Incarnation } from '../incarnation.js'
import { seeded } from '../conformance/harness.js'
import type { Kind } from './fixtures/kill9-worker.js'

const KILLS = Number(process.env.CELERIAC_CRASH_ROUNDS ?? 50)
const SEED = Number(process.env.CELERIAC_CRASH_SEED ?? 20261205)
/** Two directories, each with its own chain of incarnations: one's start-ups (most of the time) overlap the other's work. */
const LANES = KILLS >= 2 ? 2 : 1
const source = fileURLToPath(new URL('./fixtures/kill9-worker.ts', import.meta.url))
/** The attempts each kind is added with (fixtures/kill9-worker.ts). */
const ATTEMPTS: Record<Kind, number> = { ok: 1, slow: 1, fail: 2, flaky: 3, urgent: 1, later: 1, parent: 1, child: 1 }
const KEY = 'bullmq:bull:kill9:'
const DRAIN_BOUND_MS = 60_000

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
let child = ''
beforeAll(async () => {
  const out = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-kill9-child-'))
  dirs.push(out)
  child = join(out, 'kill9-worker.mjs')
  await build({
    entryPoints: [source],
    outfile: child,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // BullMQ's dependencies are CommonJS and call require(), which an ES module lacks.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  })
})

function launch(dir: string, sideLog: string, incarnation: number, mode: 'work' | 'drain'): Incarnation {
  return spawnIncarnation(child, [dir, sideLog, String(incarnation), mode])
}

/** A job as the backend stores it (src/bullmq/persistence.ts), the fields this test reads. */
interface StoredJob {
  id: string
  state: string
  data: string
  attemptsMade: number
  attemptsStarted: number
  stalledCounter: number
  returnvalue?: string
  failedReason?: string
  priority: number
  /** Its place in its list (`wait`: smaller is newer) or its score. */
  place: number
}

/** Opens the directory as the next incarnation would (cutting a torn tail) and reads the jobs. */
async function readJobs(dir: string): Promise<Map<string, StoredJob & { tag: string; kind: Kind }>> {
  const storage = fileStorage({ dir })
  await storage.open()
  const entries = await storage.entries('messages')
  await storage.close()
  const jobs = new Map<string, StoredJob & { tag: string; kind: Kind }>()
  for (const [key, value] of entries) {
    if (!key.startsWith(KEY)) continue
    const job = value as StoredJob
    const { tag, kind } = JSON.parse(job.data) as { tag: string; kind: Kind }
    jobs.set(job.id, { ...job, tag, kind })
  }
  return jobs
}

interface Run {
  id: string
  tag: string
  attempt: number
  incarnation: number
}

/** The side log's complete lines (a kill can leave the last one cut). */
function readRuns(sideLog: string): Run[] {
  if (!existsSync(sideLog)) return []
  return readFileSync(sideLog, 'utf8')
    .split('\n')
    .slice(0, -1)
    .flatMap((line) => {
      const m = /^run (\S+) (\S+) (\d+) (\d+)$/.exec(line)
      return m === null ? [] : [{ id: m[1]!, tag: m[2]!, attempt: Number(m[3]), incarnation: Number(m[4]) }]
    })
}

interface LaneFigures {
  kills: number
  acked: number
  stored: number
  runs: number
  reruns: number
  stalled: number
  /** The journal's generation at the end: how many times it was compacted. */
  compactions: number
  midCompaction: number
  /** Jobs stored with a stalledCounter: taken back from active after a kill (or a lost lock). */
  pickedUpStalled: number
  lockLost: number
  completed: number
  failed: number
  /** Flow parents completed (each after its two children). */
  parents: number
  /** Kills that landed with an addBulk call pending, processors running, finish writes pending, jobs in backoff. */
  phases: { addBulk: number; processing: number; finishing: number; backoff: number }
}

async function lane(lane: number, rounds: number, wrong: string[]): Promise<LaneFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-kill9-'))
  const sideLog = `${dir}.side.log`
  dirs.push(dir, sideLog)
  const random = seeded(SEED + lane)
  const say = (what: string): void => {
    wrong.push(`lane ${lane}: ${what}`)
  }
  /** id -> what its addBulk returned. */
  const acked = new Map<string, { tag: string; kind: Kind }>()
  /** id -> the incarnation and attemptsMade of each stored finish the Worker announced (`done` / `failed`). */
  const finishes = new Map<string, Array<{ incarnation: number; attemptsMade: number; done: boolean }>>()
  /** Ids the Worker announced as stalled, by incarnation. */
  const stalled = new Set<string>()
  let stalledEvents = 0
  let lockLost = 0
  const phases = { addBulk: 0, processing: 0, finishing: 0, backoff: 0 }
  let midCompaction = 0

  const note = (lines: readonly string[], incarnation: number): void => {
    for (const line of lines) {
      const [what, id, a, b] = line.split(' ') as [string, string, string | undefined, string | undefined]
      if (what === 'added') {
        if (acked.has(id)) say(`job id ${id} was returned by addBulk twice (${acked.get(id)!.tag}, then ${a!})`)
        acked.set(id, { tag: a!, kind: b as Kind })
      } else if (what === 'done' || what === 'failed') {
        finishes.set(id, [...(finishes.get(id) ?? []), { incarnation, attemptsMade: Number(a), done: what === 'done' }])
      } else if (what === 'stalled') {
        stalled.add(`${incarnation} ${id}`)
        stalledEvents++
      } else if (what === 'error' && /could not renew lock|Missing lock for job/.test(line)) {
        // A processor outlived its lock (a slow turn on a loaded machine): the job is taken as
        // stalled and runs again, BullMQ's at-least-once; its first run's finish is refused.
        lockLost++
      } else if (what === 'error' || what === 'warning') say(`incarnation ${incarnation}: ${line}`)
    }
  }

  /** What must hold of the stored jobs after any kill. */
  const check = (jobs: Map<string, StoredJob & { tag: string; kind: Kind }>, runs: readonly Run[], after: string): void => {
    for (const [id, { tag }] of acked) {
      const job = jobs.get(id)
      if (job === undefined) say(`job ${id} (${tag}) was added, then lost ${after}`)
      else if (job.tag !== tag) say(`job ${id} was added as ${tag} but is stored as ${job.tag} ${after}: its id was reused`)
    }
    const tags = new Map<string, string>()
    for (const job of jobs.values()) {
      if (tags.has(job.tag)) say(`${job.tag} is stored twice, as jobs ${tags.get(job.tag)!} and ${job.id} ${after}`)
      tags.set(job.tag, job.id)
    }
    // FIFO: jobs added straight to wait that never ran wait in the order they were added (ids
    // grow with it), the newest with the smallest place, whichever incarnation added them.
    // (A delayed job enters wait when it is due, a parent when its last child completes.)
    const fresh = [...jobs.values()]
      .filter(
        (j) => j.state === 'wait' && j.kind !== 'later' && j.kind !== 'parent' && j.attemptsStarted === 0 && j.attemptsMade === 0 && j.stalledCounter === 0,
      )
      .sort((a, b) => a.place - b.place)
    for (let i = 1; i < fresh.length; i++) {
      const [left, right] = [fresh[i - 1]!, fresh[i]!]
      if (left.place === right.place || Number(left.id) < Number(right.id))
        say(`jobs ${left.id} and ${right.id} wait at places ${left.place} and ${right.place} ${after}: the wait list lost the order they were added in`)
    }
    // Prioritized jobs that never ran: within a priority, in the order they were added.
    const byPriority = [...jobs.values()]
      .filter((j) => j.state === 'prioritized' && j.attemptsStarted === 0 && j.stalledCounter === 0)
      .sort((a, b) => a.place - b.place)
    for (let i = 1; i < byPriority.length; i++) {
      const [first, next] = [byPriority[i - 1]!, byPriority[i]!]
      if (first.priority === next.priority && Number(first.id) > Number(next.id))
        say(`prioritized jobs ${first.id} and ${next.id} (priority ${first.priority}) are stored in the wrong order ${after}`)
    }
    for (const [id, announced] of finishes) {
      const last = announced.at(-1)!
      const job = jobs.get(id)
      const final = last.done || last.attemptsMade >= ATTEMPTS[job?.kind ?? 'ok']
      if (job === undefined) say(`job ${id} was announced finished, then lost ${after}`)
      else if (job.attemptsMade < last.attemptsMade)
        say(`job ${id} was announced ${last.done ? 'done' : 'failed'} at attempt ${last.attemptsMade}, stored at ${job.attemptsMade} ${after}`)
      else if (final && job.state !== (last.done ? 'completed' : 'failed'))
        say(`job ${id} was announced ${last.done ? 'completed' : 'failed'}, stored ${job.state} ${after}`)
    }
    for (const job of jobs.values()) {
      if (job.state !== 'completed') continue
      if (job.returnvalue !== JSON.stringify(`ok:${job.tag}`)) say(`job ${job.id} completed with ${String(job.returnvalue)} ${after}`)
      if (!runs.some((r) => r.id === job.id && r.tag === job.tag && r.attempt === job.attemptsMade - 1))
        say(`job ${job.id} is completed (attemptsMade ${job.attemptsMade}) but its last attempt never ran ${after}`)
    }
  }

  // Spawned ahead: each incarnation starts up while the test reads what the last kill left.
  let next = launch(dir, sideLog, 0, rounds === 0 ? 'drain' : 'work')
  try {
    for (let round = 0; round < rounds; round++) {
      const t0 = Date.now()
      const run = next
      run.go()
      await run.waitFor(/^ready$/)
      const t1 = Date.now()
      // Somewhere in the next 300 ms: during the adds (the first 50-150 ms, by the machine's
      // speed; a third of the kills come in the first 60 ms, so they land there on a fast machine
      // too), the processing, the finish writes, the retries' backoff, or the recovery of what the
      // last kill left.
      const wait = random() < 1 / 3 ? random() * 60 : 5 + random() * 295
      await new Promise((resolve) => setTimeout(resolve, Math.floor(wait)))
      run.kill()
      next = launch(dir, sideLog, round + 1, round + 1 === rounds ? 'drain' : 'work')
      await run.exit
      note(run.lines, round)
      // What the kill left, before anything opens it: a compaction cut short leaves its temp
      // snapshot or two journals.
      const names = readdirSync(dir)
      if (names.includes('snapshot.tmp') || names.filter((n) => n.startsWith('journal-')).length > 1) midCompaction++
      const runs = readRuns(sideLog)
      const jobs = await readJobs(dir)
      check(jobs, runs, `after kill ${round}`)
      if (process.env.KILL9_DEBUG) console.error(`lane ${lane} round ${round}: ready ${t1 - t0} ms, total ${Date.now() - t0} ms`)

      const count = (what: string): number => run.lines.filter((l) => l.startsWith(`${what} `)).length
      const adding = run.lines.filter((l) => l.startsWith('adding ')).reduce((n, l) => n + Number(l.split(' ')[2]), 0)
      if (adding > count('added')) phases.addBulk++
      if (runs.filter((r) => r.incarnation === round).length > count('returned') + count('threw')) phases.processing++
      if (count('returned') + count('threw') > count('done') + count('failed')) phases.finishing++
      if ([...jobs.values()].some((j) => j.state === 'delayed')) phases.backoff++
    }

    const drain = next
    drain.go()
    // A job stuck in wait or active keeps the drain from ending: after a generous bound the drain
    // is stopped and the checks below name what was left (recovery needs a lock's 1 s, not this).
    let timer: ReturnType<typeof setTimeout> | undefined
    const drained = await Promise.race([
      drain.waitFor(/^drained$/).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_BOUND_MS))),
    ])
    clearTimeout(timer)
    if (!drained) {
      say(`the drain did not end within ${DRAIN_BOUND_MS} ms`)
      drain.kill()
    }
    const exit = await drain.exit
    if (drained && exit !== 0) say(`the drain exited with ${String(exit)}`)
    note(drain.lines, rounds)
  } finally {
    // One spawned ahead and left waiting when a round failed (the drain has exited by now).
    next.kill()
  }
  const runs = readRuns(sideLog)
  const jobs = await readJobs(dir)
  check(jobs, runs, 'after the drain')

  const runsOf = new Map<string, Run[]>()
  for (const r of runs) runsOf.set(r.id, [...(runsOf.get(r.id) ?? []), r])
  let reruns = 0
  let pickedUpStalled = 0
  for (const job of jobs.values()) {
    const { id, kind, tag } = job
    const own = runsOf.get(id) ?? []
    if (own.some((r) => r.tag !== tag)) say(`job ${id} (${tag}) has runs of another job: ${JSON.stringify(own)}`)
    // Its fate is its kind's: nothing left waiting, active or delayed, no failure but its own.
    const expected = kind === 'fail' ? 'failed' : 'completed'
    if (job.state !== expected) say(`job ${id} (${kind}) ended ${job.state}${job.failedReason === undefined ? '' : `: ${job.failedReason}`}`)
    if (job.state === 'failed' && job.failedReason !== `fail ${id} attempt 1`) say(`job ${id} failed with ${String(job.failedReason)}`)
    if (job.attemptsMade !== ATTEMPTS[kind]) say(`job ${id} (${kind}) made ${job.attemptsMade} attempts`)
    // Each start is stored before what ended it (a finish, or a stall that took it back).
    if (job.attemptsStarted < job.attemptsMade + job.stalledCounter)
      say(`job ${id}: ${job.attemptsStarted} attempts started, but ${job.attemptsMade} made and ${job.stalledCounter} stalled`)
    if (job.stalledCounter > 0) pickedUpStalled++
    // Every attempt ran, the last one last.
    for (let attempt = 0; attempt < job.attemptsMade; attempt++) {
      if (!own.some((r) => r.attempt === attempt)) say(`job ${id} (${kind}): attempt ${attempt} never ran`)
    }
    if (own.length > 0 && own.at(-1)!.attempt !== job.attemptsMade - 1)
      say(`job ${id} (${kind}): its last run was attempt ${own.at(-1)!.attempt} of ${job.attemptsMade}`)
    // At least once: an attempt runs again only after a kill (a later incarnation) or a stall.
    for (let i = 1; i < own.length; i++) {
      const [before, now] = [own[i - 1]!, own[i]!]
      if (now.attempt !== before.attempt) continue
      reruns++
      if (now.incarnation === before.incarnation && !stalled.has(`${now.incarnation} ${id}`))
        say(`job ${id}: attempt ${now.attempt} ran twice in incarnation ${now.incarnation} with no stall`)
    }
    // A stored finish is final for the attempts it counts: no later incarnation runs them again.
    for (const f of finishes.get(id) ?? []) {
      const again = own.filter((r) => r.incarnation > f.incarnation && (f.done || r.attempt < f.attemptsMade))
      if (again.length > 0)
        say(`job ${id}: ran ${JSON.stringify(again)} after its ${f.done ? 'completion' : 'failure'} at attempt ${f.attemptsMade} was stored`)
    }
  }
  return {
    kills: rounds,
    acked: acked.size,
    stored: jobs.size,
    runs: runs.length,
    reruns,
    stalled: stalledEvents,
    compactions: Math.max(
      ...readdirSync(dir)
        .flatMap((n) => /^journal-(\d+)\.log$/.exec(n)?.[1] ?? [])
        .map(Number),
    ),
    midCompaction,
    pickedUpStalled,
    lockLost,
    completed: [...jobs.values()].filter((j) => j.state === 'completed').length,
    failed: [...jobs.values()].filter((j) => j.state === 'failed').length,
    parents: [...jobs.values()].filter((j) => j.kind === 'parent' && j.state === 'completed').length,
    phases,
  }
}

it(
  `a BullMQ Worker on file storage survives ${KILLS} kill -9s at random points with every added job accounted for`,
  async () => {
    const wrong: string[] = []
    const lanes = Array.from({ length: LANES }, (_, i) => Math.floor(KILLS / LANES) + (i < KILLS % LANES ? 1 : 0))
    const figures = await Promise.all(lanes.map((rounds, i) => lane(i, rounds, wrong)))
    expect(wrong).toEqual([])
    const sum = (pick: (f: LaneFigures) => number): number => figures.reduce((n, f) => n + pick(f), 0)
    const total = {
      kills: sum((f) => f.kills),
      acked: sum((f) => f.acked),
      stored: sum((f) => f.stored),
      runs: sum((f) => f.runs),
      reruns: sum((f) => f.reruns),
      stalled: sum((f) => f.stalled),
      pickedUpStalled: sum((f) => f.pickedUpStalled),
      compactions: sum((f) => f.compactions),
      midCompaction: sum((f) => f.midCompaction),
      lockLost: sum((f) => f.lockLost),
      completed: sum((f) => f.completed),
      failed: sum((f) => f.failed),
      parents: sum((f) => f.parents),
      phases: {
        addBulk: sum((f) => f.phases.addBulk),
        processing: sum((f) => f.phases.processing),
        finishing: sum((f) => f.phases.finishing),
        backoff: sum((f) => f.phases.backoff),
      },
    }
    expect(total.kills).toBe(KILLS)
    expect(total.acked).toBeGreaterThan(KILLS)
    console.info(
      `[kill9 bullmq] ${total.kills} kills (seed ${SEED}): ${total.acked} jobs acknowledged by addBulk, ${total.stored} stored ` +
        `(${total.completed} completed, ${total.parents} of them flow parents, ${total.failed} failed), ${total.runs} processor runs, ${total.reruns} attempts run again, ` +
        `${total.stalled} stalled events (${total.pickedUpStalled} jobs picked up again as stalled), ${total.lockLost} locks lost by a running processor; kills with an addBulk pending ${total.phases.addBulk}, processors running ${total.phases.processing}, ` +
        `finish writes pending ${total.phases.finishing}, jobs in backoff ${total.phases.backoff}, a compaction under way ${total.midCompaction} ` +
        `(${total.compactions} compactions)`,
    )
  },
  Math.max(120_000, KILLS * 3_000) + DRAIN_BOUND_MS,
)
