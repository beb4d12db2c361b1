/**
 * `npm run bench`: every case, celeriac and its peers, each measurement in a fresh process,
 * implementations alternating within each round so that drift of the machine hits all of them.
 * Prints medians and ratios; writes bench/results/<date>.json and bench/RESULTS.md (a --quick or
 * --only run writes bench/results/<date>[-quick][-only-<name>].json, gitignored, and leaves both).
 * Builds dist/ first when it is missing or older than src/, so it runs on a fresh clone.
 *
 *   npm run bench                      all cases, 5 rounds
 *   npm run bench -- --quick           small sizes, 3 rounds (a smoke run)
 *   npm run bench -- --only threads    cases whose name contains "threads" (results/<date>-only-threads.json)
 *   npm run bench -- --rounds 7
 *   npm run bench -- --only file-compaction --size 256   another n (here MiB) for the cases run
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureBuilt } from '../test/package/built.js'
import type { BenchCase, Measurement } from './cases.js'
import { advantage, median } from './stats.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = flagValue('--only')
const rounds = Number(flagValue('--rounds') ?? (quick ? 3 : 5))
const sizeFlag = flagValue('--size')
const runner = fileURLToPath(new URL('./case-runner.ts', import.meta.url))

// The cases measure the built package: dist/ as the current source builds it. ensureBuilt builds
// when dist/ is missing (a fresh clone, `npm ci --ignore-scripts`, `git clean`) or older than
// src/, and takes the tests' build lock, so a bench started beside a test run never cleans dist/
// under it (nor the other way round).
// CELERIAC_BUILD=javascript builds (and asks for) the JavaScript only, which is all the cases run.
const parts = process.env.CELERIAC_BUILD === 'javascript' ? 'javascript' : 'package'
console.log(`building celeriac if dist/ is missing or older than src/ (npm run build${parts === 'javascript' ? ', JavaScript only' : ''}) ...`)
try {
  await ensureBuilt(parts)
} catch (error) {
  console.error(`the build failed: fix it before benchmarking\n${String((error as { stderr?: unknown }).stderr ?? error)}`)
  process.exit(1)
}

// Loaded after the build: cases.ts imports dist/ as it loads, which a fresh clone lacks
// (test/bench/fresh-clone.test.ts runs the bench in a copy of the checkout without dist/).
const { cases, machine } = await import('./cases.js')

function flagValue(flag: string): string | undefined {
  const at = args.indexOf(flag)
  return at >= 0 ? args[at + 1] : undefined
}

function measure(bench: BenchCase, impl: string, size: number): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(bench.nodeFlags ?? []), '--import', 'tsx', runner, bench.name, impl, String(size)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0) return reject(new Error(`${bench.name} / ${impl} exited with ${String(code)}`))
      try {
        resolve(JSON.parse(last) as Measurement)
      } catch {
        reject(new Error(`${bench.name} / ${impl} printed no measurement: ${last}`))
      }
    })
  })
}

interface ImplResult {
  impl: string
  values: number[]
  median: number
  min: number
  max: number
  extra: Record<string, number>
  /** celeriac's advantage over this peer (above 1: celeriac ahead). */
  advantage?: number
}

interface CaseResult {
  name: string
  title: string
  unit: string
  better: 'higher' | 'lower'
  size: number
  /** Rounds this case ran (a slow case runs fewer than the run's default). */
  rounds: number
  sides?: string
  results: ImplResult[]
  target?: string
  met?: boolean
  skipped?: string
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(2) : n.toFixed(3))

/** What a case's record says of the case itself, run or not. */
function described(bench: BenchCase, size: number, caseRounds: number): Omit<CaseResult, 'results'> {
  return {
    name: bench.name,
    title: bench.title,
    unit: bench.unit,
    better: bench.better,
    size,
    rounds: caseRounds,
    ...(bench.sides === undefined ? {} : { sides: bench.sides }),
  }
}

const report: CaseResult[] = []
for (const bench of cases) {
  if (only !== undefined && !bench.name.includes(only)) continue
  const size = sizeFlag !== undefined ? Number(sizeFlag) : quick ? bench.size.quick : bench.size.full
  const why = await bench.unavailable?.()
  if (why !== undefined) {
    console.log(`\n${bench.title}: skipped (${why})`)
    report.push({ ...described(bench, size, 0), results: [], skipped: why })
    continue
  }
  const impls = Object.keys(bench.impls)
  const values = new Map<string, number[]>(impls.map((i) => [i, []]))
  const extras = new Map<string, Array<Record<string, number>>>(impls.map((i) => [i, []]))
  const caseRounds = Math.min(rounds, bench.rounds ?? rounds)
  process.stdout.write(`\n${bench.title} (n = ${size.toLocaleString('en-US')}, ${caseRounds} rounds) `)
  let failure: string | undefined
  measuring: for (let round = 0; round < caseRounds; round++) {
    // Alternate who goes first, so neither always runs on a warmer or cooler machine.
    const order = round % 2 === 0 ? impls : [...impls].reverse()
    for (const impl of order) {
      try {
        const m = await measure(bench, impl, size)
        values.get(impl)!.push(m.value)
        if (m.extra !== undefined) extras.get(impl)!.push(m.extra)
      } catch (error) {
        failure = (error as Error).message
        break measuring
      }
      process.stdout.write('.')
    }
  }
  process.stdout.write('\n')
  if (failure !== undefined) {
    // One broken case must not cost the others: report it and go on.
    console.log(`  failed: ${failure}`)
    report.push({ ...described(bench, size, caseRounds), results: [], skipped: `failed: ${failure}` })
    process.exitCode = 1
    continue
  }
  const ours = median(values.get(impls[0]!)!)
  const results: ImplResult[] = impls.map((impl) => {
    const vs = values.get(impl)!
    const m = median(vs)
    const extra: Record<string, number> = {}
    const list = extras.get(impl)!
    for (const key of Object.keys(list[0] ?? {})) extra[key] = median(list.map((e) => e[key]!))
    return {
      impl,
      values: vs,
      median: m,
      min: Math.min(...vs),
      max: Math.max(...vs),
      extra,
      ...(impl === impls[0] ? {} : { advantage: advantage(ours, m, bench.better) }),
    }
  })
  const result: CaseResult = { ...described(bench, size, caseRounds), results }
  if (bench.target !== undefined) {
    const peer = results.find((r) => r.impl === bench.target!.peer)
    result.target = bench.target.text
    result.met = peer?.advantage !== undefined && peer.advantage >= bench.target.advantage
  } else if (bench.goal !== undefined && !quick) {
    result.target = bench.goal.text
    result.met = bench.goal.at === 'most' ? ours <= bench.goal.value : ours >= bench.goal.value
  }
  report.push(result)
  for (const r of results) {
    const extra = Object.entries(r.extra)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ')
    const vs = r.advantage === undefined ? '' : `  celeriac ${r.advantage.toFixed(2)}x ${r.advantage >= 1 ? 'ahead' : 'behind'}`
    console.log(`  ${r.impl.padEnd(38)} ${fmt(r.median).padStart(12)} ${bench.unit} [${fmt(r.min)}–${fmt(r.max)}]${extra ? ` (${extra})` : ''}${vs}`)
  }
  if (result.target !== undefined) console.log(`  target ${result.target}: ${result.met ? 'met' : 'not met'}`)
}

const date = new Date().toISOString().slice(0, 10)
const record = { date, quick, rounds, machine: machine(), cases: report }
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
// A partial run (--quick, --only) never overwrites the day's full results.
const suffix = `${quick ? '-quick' : ''}${only === undefined ? '' : `-only-${only.replace(/[^\w.-]/g, '_')}`}`
writeFileSync(new URL(`./results/${date}${suffix}.json`, import.meta.url), `${JSON.stringify(record, null, 2)}\n`)
if (!quick && only === undefined) writeFileSync(new URL('./RESULTS.md', import.meta.url), markdown(record))
console.log(`\nwrote bench/results/${date}${suffix}.json${!quick && only === undefined ? ' and bench/RESULTS.md' : ''}`)

function markdown(r: typeof record): string {
  const lines = [
    '# Benchmark results',
    '',
    `${r.date}, Node ${String(r.machine.node)}, ${String(r.machine.cpus)} CPUs; medians of the rounds each case ran (its own column: ${String(r.rounds)}, or fewer for a slow case), each measurement in a fresh process.`,
    'Advantage = how many times better celeriac is than the peer (above 1: ahead), for rates celeriac/peer, for times peer/celeriac.',
    'Written by `npm run bench`; the raw numbers are in `bench/results/`.',
    '',
    '| case | n | rounds | implementation | median | min – max | advantage | target |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |',
  ]
  for (const c of r.cases) {
    if (c.skipped !== undefined) {
      lines.push(`| ${c.title} | ${c.size} | | skipped: ${c.skipped} | | | | |`)
      continue
    }
    for (const [i, x] of c.results.entries()) {
      const extra = Object.entries(x.extra)
        .map(([k, v]) => ` (${k} ${fmt(v)})`)
        .join('')
      const target = i === 0 && c.target !== undefined ? `${c.target}: ${c.met ? 'met' : 'not met'}` : ''
      lines.push(
        `| ${i === 0 ? c.title : ''} | ${i === 0 ? c.size.toLocaleString('en-US') : ''} | ${i === 0 ? String(c.rounds) : ''} | ${x.impl} | ${fmt(x.median)} ${c.unit}${extra} | ${fmt(x.min)} – ${fmt(x.max)} | ${x.advantage === undefined ? '' : `${x.advantage.toFixed(2)}x`} | ${target} |`,
      )
    }
  }
  const described = r.cases.filter((c) => c.sides !== undefined)
  if (described.length > 0) {
    lines.push('', '## What each side does', '')
    for (const c of described) lines.push(`- **${c.title}.** ${c.sides!}`)
  }
  return `${lines.join('\n')}\n`
}
