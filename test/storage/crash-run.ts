/**
 * kill -9 at random points: a child process runs a mixed workload on file storage and is killed
 * with SIGKILL again and again. After each kill, every task whose send had resolved must be in
 * storage (queued, scheduled, running or finished), every result read must still be there, and
 * a countdown task keeps the eta it was sent with. An early-ack task (chord bodies among them)
 * never starts twice: its lease (the ack) is stored before its body begins. Each incarnation
 * also checks, at app level, that the long-TTL lock the first one took is still held and that
 * the id the previous one revoked is still refused. The journal is compacted every few rounds
 * (a small `compactBytes` in the child), so some kills land in a compaction. At the end a last
 * incarnation drains the work and every task's outcome is checked against what its kind allows:
 * an acksLate task ran to SUCCESS (at least once), an early-ack one is SUCCESS or FAILURE
 * WorkerLostError (and then it had started, or its ack was stored, with no start yet, at a
 * kill), a countdown task never started before its eta, and a chord either completed or failed
 * with ChordError naming a member that was lost.
 *
 * Rounds: CELERIAC_CRASH_ROUNDS (default 50), seed: CELERIAC_CRASH_SEED. Time is real here on purpose: the point is where a
 * real process dies, so the test is bounded by rounds, not by speed. One file per executor
 * (crash-inline.test.ts, crash-threads.test.ts), so that the two run side by side.
 *
 * What a round costs, and why it is laid out so: the child's start (node itself and the bundle's
 * imports) is most of it, then its recovery, then the parent's reopening of the directory. So
 * the next incarnation is spawned as soon as the last one is killed and starts up while the
 * parent reads and checks what the kill left; it opens the storage only when told to (a line
 * on its stdin), after that read, so it recovers exactly what the parent saw.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect } from 'vitest'
import { states } from '../../src/index.js'
import type { ChordError } from '../../src/index.js'
import type { ResultRecord, TaskMessage } from '../../src/core/model/message.js'
import { decode, decodeError } from '../../src/core/serializer/decode.js'
import { fileStorage } from '../../src/node.js'
import { spawnIncarnation } from '../incarnation.js'
import type { Incarnation } from '../incarnation.js'
import { seeded } from '../conformance/setup.js'
import { bundledScript } from '../workers/bundled.js'

/** Kills per executor. */
export const ROUNDS = Number(process.env.CELERIAC_CRASH_ROUNDS ?? 50)
/** Each executor's test timeout. */
export const TIMEOUT_MS = Math.max(600_000, ROUNDS * 6_000)
/** The child's compaction threshold: small, so the journal is compacted every few rounds. */
const COMPACT_BYTES = 64 * 1024
/** The child, compiled once per run (test/workers/bundled.ts): started through tsx, each round took seconds. */
const app = bundledScript(new URL('./fixtures/crash-app.ts', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
type ExecutorKind = 'inline' | 'threads'

function launch(dir: string, executor: ExecutorKind, incarnation: number, mode?: 'drain'): Incarnation {
  return spawnIncarnation(app, [dir, String(incarnation), ...(mode === undefined ? [] : [mode])], {
    ...process.env,
    CRASH_EXECUTOR: executor,
    CRASH_COMPACT_BYTES: String(COMPACT_BYTES),
  })
}

/** Opens the directory as the next incarnation would (cutting a torn tail), and reads it. */
async function readStorage(dir: string) {
  const names = readdirSync(dir)
  // What the kill left, before anything opens it: a compaction cut short leaves its temp
  // snapshot or two journals.
  const midCompaction = names.includes('snapshot.tmp') || names.filter((n) => n.startsWith('journal-')).length > 1
  const warnings: string[] = []
  const storage = fileStorage({ dir, onWarning: (w) => warnings.push(w) })
  await storage.open()
  const results = new Map((await storage.entries('results')).map(([k, v]) => [k, v as ResultRecord]))
  const messages = new Map((await storage.entries('messages')).map(([k, v]) => [k, v as TaskMessage]))
  const chords = JSON.stringify(await storage.entries('chords'))
  await storage.close()
  const generation = Math.max(
    ...readdirSync(dir)
      .flatMap((n) => /^journal-(\d+)\.log$/.exec(n)?.[1] ?? [])
      .map(Number),
  )
  return { results, messages, chords, midCompaction, generation, tornTails: warnings.filter((w) => w.includes('torn tail')).length }
}

const errorOf = (record: ResultRecord | undefined): Error | undefined => (record?.state === states.FAILURE ? decodeError(record.result) : undefined)

/** Kills a child running `executor` `rounds` times, checking the storage after each kill and at the end. */
export async function survivesKills(executor: ExecutorKind, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-crash-'))
  dirs.push(dir)
  const random = seeded(Number(process.env.CELERIAC_CRASH_SEED ?? 20261124))
  const sent = new Map<string, string>()
  /** Countdown task id -> the epoch ms before which it must not start; and its stored eta. */
  const notBefore = new Map<string, number>()
  const etas = new Map<string, number>()
  const dueStarts = new Map<string, number[]>()
  const chords = new Map<string, { label: string; members: string[] }>()
  const done = new Map<string, string>()
  /** Ids whose body started at least once (any incarnation): only these may end WorkerLostError. */
  const started = new Set<string>()
  /** `<id> <retries>` -> the incarnations in which that attempt's body started: an early-ack one at most once. */
  const attemptStarts = new Map<string, number[]>()
  /** Chord label -> the incarnations in which its body started. */
  const bodyStarts = new Map<string, number[]>()
  /**
   * Early-ack ids whose ack (lease) was stored at a kill while their body had not started yet:
   * the ack comes right before the body, and a kill between the two loses the task without a
   * start, as a Celery worker killed after its early ack does. Only these may end lost unstarted.
   */
  const ackedUnstarted = new Set<string>()
  /** Ids of acksLate tasks, which may start again after a crash (at least once). */
  const acksLate = new Set<string>()
  const note = (lines: readonly string[], incarnation: number): void => {
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ') as [string, string, string, string | undefined]
      if (kind === 'sent') sent.set(b, a)
      if (kind === 'sent' && a === 'countdown') notBefore.set(b, Number(c))
      else if (kind === 'chord') chords.set(b, { label: a, members: c!.split(',') })
      else if (kind === 'done') done.set(a, b)
      else if (kind === 'start') {
        started.add(a)
        // By the task's name: a kill can come after a send resolved and before its `sent` line.
        if (c === 'crash.late') acksLate.add(a)
        attemptStarts.set(`${a} ${b}`, [...(attemptStarts.get(`${a} ${b}`) ?? []), incarnation])
      } else if (kind === 'body') bodyStarts.set(a, [...(bodyStarts.get(a) ?? []), incarnation])
      else if (kind === 'due') dueStarts.set(a, [...(dueStarts.get(a) ?? []), Number(b)])
    }
  }
  /** Locks and revoked ids outlive the process (checked by the incarnation itself, at app level). */
  const checkAppLevel = (lines: readonly string[], incarnation: number): void => {
    expect(lines, `incarnation ${incarnation}: the long-TTL lock`).toContain(incarnation === 0 ? 'lock taken' : 'lock held')
    if (incarnation > 0) expect(lines, `incarnation ${incarnation}: the revoked id`).toContain(`refused crash-revoked-${incarnation} REVOKED true`)
  }
  let lastKill = 0
  let tornTails = 0
  let midCompaction = 0
  let generation = 0

  // Spawned ahead: each incarnation starts up while the parent reads what the last kill left.
  let next = launch(dir, executor, 0, rounds === 0 ? 'drain' : undefined)
  try {
    for (let round = 0; round < rounds; round++) {
      const run = next
      run.go()
      await run.waitFor(/^ready$/)
      checkAppLevel(run.lines, round)
      // Die somewhere in the next 5-150 ms of real work.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(random() * 145)))
      run.kill()
      lastKill = Date.now()
      next = launch(dir, executor, round + 1, round + 1 === rounds ? 'drain' : undefined)
      await run.exit
      note(run.lines, round)

      const after = await readStorage(dir)
      tornTails += after.tornTails
      if (after.midCompaction) midCompaction++
      generation = after.generation
      const { results, messages } = after
      // Each expect only on a miss: thousands of passing expect() calls a round were a good part
      // of the parent's time, and a miss fails with the same message as before.
      for (const [id, kind] of sent) {
        if (!(results.has(id) || messages.has(id))) expect(false, `${kind} task ${id} was sent but is gone after kill ${round}`).toBe(true)
      }
      for (const [id, { label }] of chords) {
        if (!(results.has(id) || messages.has(id) || after.chords.includes(id)))
          expect(false, `chord ${label} (body ${id}) is gone after kill ${round}`).toBe(true)
      }
      for (const [id, message] of messages) {
        if (message.leased === true && !message.acksLate && !attemptStarts.has(`${id} ${message.retries}`)) ackedUnstarted.add(id)
      }
      for (const [id, value] of done) {
        const record = results.get(id)
        if (record?.state === states.SUCCESS && String(record.result) === value) continue
        expect(record?.state, `the result of ${id} was read, then lost at kill ${round}`).toBe(states.SUCCESS)
        expect(String(record?.result)).toBe(value)
      }
      for (const [id, earliest] of notBefore) {
        const eta = messages.get(id)?.eta
        if (eta === undefined) continue
        const stored = etas.get(id) ?? eta
        if (eta === null || eta < earliest || eta !== stored) {
          expect(eta, `countdown ${id} lost its eta at kill ${round}`).not.toBeNull()
          expect(eta!, `countdown ${id}: eta before the countdown`).toBeGreaterThanOrEqual(earliest)
          expect(eta, `countdown ${id}: its eta changed across kill ${round}`).toBe(stored)
        }
        etas.set(id, eta!)
      }
    }
    expect(sent.size).toBeGreaterThan(rounds)

    const drain = next
    drain.go()
    await drain.waitFor(/^drained$/)
    await drain.exit
    checkAppLevel(drain.lines, rounds)
    note(drain.lines, rounds)
  } finally {
    // One spawned ahead and left waiting when a check failed.
    next.kill()
  }
  const { results, messages } = await readStorage(dir)
  expect([...messages.keys()]).toEqual([])
  const wrong: string[] = []
  let lost = 0
  for (const [id, kind] of sent) {
    const record = results.get(id)
    const error = errorOf(record)
    if (record?.state !== states.SUCCESS && error?.name !== 'WorkerLostError') wrong.push(`${kind} ${id} ended ${String(record?.state)} ${String(error?.name)}`)
    // acksLate: acked after its result, so a run cut short runs again (at least once).
    else if (kind === 'late' && record?.state !== states.SUCCESS) wrong.push(`acksLate ${id} ended ${error!.name}: it must run again after a crash`)
    if (error !== undefined) lost++
    if (kind === 'countdown') {
      const earliest = Math.max(notBefore.get(id)!, etas.get(id) ?? 0)
      for (const at of dueStarts.get(id) ?? []) if (at < earliest) wrong.push(`countdown ${id} started at ${at}, ${earliest - at} ms before its eta`)
      // Lost while running or prefetched: so it was due before the last kill.
      if (error !== undefined && earliest > lastKill) wrong.push(`countdown ${id} was lost before it was due`)
    }
  }
  // A lease covers only runs about to begin: a task lost in a crash (WorkerLostError) had
  // started, or its ack was stored right before its body and the kill came between the two
  // (seen in storage at that kill). One that was reserved or prefetched went back to its queue.
  const chordIds = [...chords].flatMap(([bodyId, { members }]) => [bodyId, ...members])
  let ackedNotBegun = 0
  for (const id of new Set([...sent.keys(), ...chordIds])) {
    if (errorOf(results.get(id))?.name !== 'WorkerLostError' || started.has(id)) continue
    if (ackedUnstarted.has(id)) ackedNotBegun++
    else wrong.push(`${sent.get(id) ?? 'chord task'} ${id} ended WorkerLostError without ever having started or been acked`)
  }
  // At most once: an early-ack attempt never starts twice (acksLate ones run again by design).
  for (const [attempt, incarnations] of attemptStarts) {
    const id = attempt.split(' ')[0]!
    if (incarnations.length > 1 && !acksLate.has(id))
      wrong.push(
        `${sent.get(id) ?? 'chord task'} ${attempt}: an early-ack attempt started in incarnations ${incarnations.join(', ')} (${String(results.get(id)?.state)})`,
      )
  }
  let chordErrors = 0
  for (const [bodyId, { label, members }] of chords) {
    const body = results.get(bodyId)
    const starts = bodyStarts.get(label) ?? []
    const memberRecords = members.map((id) => results.get(id))
    for (const [i, record] of memberRecords.entries()) {
      if (record?.state !== states.SUCCESS && errorOf(record)?.name !== 'WorkerLostError')
        wrong.push(`chord ${label}: member ${members[i]} ended ${String(record?.state)}`)
    }
    const firstLost = members.find((_, i) => memberRecords[i]?.state === states.FAILURE)
    const error = errorOf(body)
    // The body is sent once and acks early: it starts at most once.
    if (starts.length > 1) wrong.push(`chord ${label}: body started ${starts.length} times`)
    if (body?.state === states.SUCCESS) {
      const sum = memberRecords.reduce((total, record) => total + decode<number>(record!.result!), 0)
      if (firstLost !== undefined || starts.length === 0 || decode(body.result!) !== sum)
        wrong.push(`chord ${label}: body SUCCESS with members ${JSON.stringify(memberRecords.map((r) => r?.state))}`)
    } else if (error?.name === 'ChordError') {
      chordErrors++
      // Only a lost member fails a chord, and the error names the first lost one.
      if (firstLost === undefined || (error as ChordError).taskId !== firstLost || starts.length !== 0) wrong.push(`chord ${label}: ${error.message}`)
    } else if (error?.name !== 'WorkerLostError' || firstLost !== undefined) {
      // The body itself may be lost while it runs (it acks early), once all members are in.
      wrong.push(`chord ${label}: body ended ${String(body?.state)} ${String(error?.name)}`)
    }
  }
  expect(wrong).toEqual([])
  // The run went through compactions (the generation grows with each); a kill may land in one.
  // A short run by hand (a few rounds) may write too little to compact.
  if (rounds >= 10) expect(generation).toBeGreaterThan(0)
  console.info(
    `[crash ${executor}] ${rounds} kills: ${sent.size} tasks and ${chords.size} chords sent, ${tornTails} torn tails cut, ` +
      `${generation} compactions, ${midCompaction} kills mid-compaction, ${lost} early-ack tasks lost (WorkerLostError), ${ackedNotBegun} of them acked with the body not begun at the kill, ${chordErrors} chords failed with ChordError`,
  )
}
