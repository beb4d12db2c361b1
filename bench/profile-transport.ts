/**
 * Where the transport's time goes, in Redis commands: runs one round of a `transport-*` case
 * (celeriac's bullmqTransport, then raw BullMQ) while `redis-cli monitor` counts every command
 * on the round's keys, top-level (EVALSHA named by its script) and those its Lua scripts run,
 * split at the resume that starts processing; prints them per task. MONITOR slows Redis down, so
 * the case's own figures from this run mean nothing; run `npm run build` first (the cases use dist/).
 *
 *   node --import tsx bench/profile-transport.ts [n] [workers]     default 2,000 tasks, 1 worker
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { Queue } from 'bullmq'
import { COMMIT_SCRIPT, ENTRIES_SCRIPT } from '../src/redis/scripts.js'
import { cases } from './cases.js'

const n = Number(process.argv[2] ?? 2_000)
const workers = Number(process.argv[3] ?? 1)
const connection = { host: '127.0.0.1', port: 6379 }
const bench = cases.find((c) => c.name === `transport-${String(workers)}-worker${workers === 1 ? '' : 's'}`)
if (bench === undefined) throw new Error(`no transport case for ${String(workers)} workers`)

// Script names by sha: BullMQ's as its client defines them, the store's from their text.
const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex')
const names = new Map<string, string>([
  [sha1(COMMIT_SCRIPT), 'store commit'],
  [sha1(ENTRIES_SCRIPT), 'store entries'],
])
const probe = new Queue('probe', { connection, prefix: `celeriac-bench-probe-${String(process.pid)}` })
// The raw ioredis client (an escape hatch of BullMQ's Redis backend), where its scripts are defined.
const scripts = (await probe.getBackend().client) as unknown as { scriptsSet: Record<string, { sha: string }> }
for (const [name, script] of Object.entries(scripts.scriptsSet)) names.set(script.sha, name.replace(/:[0-9.]+$/, ''))
await probe.close()

type Tally = Map<string, number>
const bump = (t: Tally, key: string): void => void t.set(key, (t.get(key) ?? 0) + 1)

// Per phase of the round under way: top-level commands, and the commands run inside each script
// (Redis logs a script's own commands right after it, and runs nothing else in between).
type Phases = Record<'send' | 'process', { top: Tally; lua: Tally }>
let phases: Phases | undefined
let phase: 'send' | 'process' = 'send'
let script = ''
// `redis-cli monitor` rather than ioredis's monitor(), which loses track of its replies under
// heavy traffic. A line: `<time> [<db> <client>|lua] "<command>" "<arg>" ...`.
const monitor = spawn('redis-cli', ['-h', connection.host, '-p', String(connection.port), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] })
let partial = ''
monitor.stdout.on('data', (chunk: Buffer) => {
  const lines = (partial + chunk.toString()).split('\n')
  partial = lines.pop()!
  for (const line of lines) heard(line)
})
await new Promise((resolve) => setTimeout(resolve, 200))

function heard(line: string): void {
  if (phases === undefined || !line.includes('celeriac-bench-transport-')) return
  const source = /^\S+ \[\d+ (\S+)\]/.exec(line)?.[1]
  const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!)
  if (source === undefined || args.length === 0) return
  const command = args[0]!.toUpperCase()
  // The bench's own polling of the completed set, and its removal of the round's keys.
  if (command === 'ZCARD' || command === 'SCAN' || command === 'UNLINK') return
  if (source === 'lua') return bump(phases[phase].lua, script)
  let name = command
  if (command === 'EVALSHA') name = `EVALSHA ${names.get(args[1]!) ?? args[1]!.slice(0, 8)}`
  if (name === 'EVALSHA pause' && args.includes('resumed')) phase = 'process'
  script = name
  bump(phases[phase].top, name)
}

for (const impl of Object.keys(bench.impls)) {
  const round: Phases = { send: { top: new Map(), lua: new Map() }, process: { top: new Map(), lua: new Map() } }
  phases = round
  phase = 'send'
  const m = await bench.impls[impl]!(n)
  await new Promise((resolve) => setTimeout(resolve, 200))
  phases = undefined
  console.log(`\n${impl}: ${String(n)} tasks, ${String(workers)} worker(s) (rate under MONITOR: ${Math.round(m.value)} tasks/s)`)
  for (const [name, p] of Object.entries(round)) {
    const total = (t: Tally): number => [...t.values()].reduce((a, b) => a + b, 0)
    console.log(`  ${name}: ${(total(p.top) / n).toFixed(2)} commands per task, and ${(total(p.lua) / n).toFixed(2)} run inside scripts`)
    for (const [command, count] of [...p.top].sort((a, b) => b[1] - a[1])) {
      if (count / n < 0.005) continue
      const inner = p.lua.get(command)
      console.log(`    ${(count / n).toFixed(3).padStart(7)}  ${command}${inner === undefined ? '' : ` (${(inner / count).toFixed(1)} inside per call)`}`)
    }
  }
}
monitor.kill()
process.exit(0)
