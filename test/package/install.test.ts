/**
 * The package as a user gets it: `npm pack` of this checkout (its built dist/, ESM and CommonJS,
 * the worker entries), installed with npm into fresh projects outside the checkout, then used:
 * an ES module project and a CommonJS one each run tasks inline on a virtual clock and in a
 * worker thread (the worker entry loads from node_modules/celeriac); a TypeScript project is
 * checked by tsc under moduleResolution node16 (ESM and CJS files, compiled and run), node10
 * (types for every subpath) and bundler with `lib: ["ES2022", "DOM"]` and no skipLibCheck (an
 * older lib without esnext.disposable); Vite and esbuild bundle the browser entry, and the
 * esbuild bundle of the core entry runs in Node. Every relative link in README.md names a file
 * the tarball holds.
 *
 * Installs use the npm cache first (`--prefer-offline`): after `npm ci` it holds the dependencies'
 * tarballs, and the first install here fetches only their registry documents. The compilers and
 * bundlers are this checkout's own (node_modules), never installed in the temp projects.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { build as esbuild } from 'esbuild'
import { build as vite } from 'vite'
import type { Logger } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, root } from './built.js'
import { cjsProject, coreApp, esmProject, tsProject } from './fixtures.js'

const exec = promisify(execFile)
const TSC = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

let work = ''
let tarball = ''
let packedFiles: string[] = []
const projects: Record<'esm' | 'cjs' | 'ts', string> = { esm: '', cjs: '', ts: '' }
/** tsc's answers for the TypeScript project's configs, started together once it is installed. */
const checks: Record<'node16' | 'node10' | 'bundler', Promise<string>> = {} as never

/** Writes `files` (relative path -> text) into a new project dir and installs the tarball there. */
async function install(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: dir })
  return dir
}

/** Runs a Node program in `dir` and parses the JSON on its last line. */
async function runNode(dir: string, file: string): Promise<unknown> {
  const { stdout } = await exec(process.execPath, [file], { cwd: dir, timeout: 30_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as unknown
}

/** tsc -p `config` in `dir`; resolves to its diagnostics ('' when clean). */
async function tsc(dir: string, config: string): Promise<string> {
  try {
    await exec(process.execPath, [TSC, '-p', config, '--pretty', 'false'], { cwd: dir })
    return ''
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error)
  }
}

/** A peer the TypeScript project would have installed (types of celeriac/node, /bullmq), from this checkout. */
function linkFromCheckout(dir: string, name: string): void {
  mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true })
  symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), 'dir')
}

const ran = {
  inline: { sum: 5, chained: 16, countdown: { before: 'PENDING', after: 'SUCCESS', value: 'done' } },
  threads: { sum: 5, inWorker: true, error: { name: 'ConfigError', code: 'CONFIG', instance: true } },
}

describe('the packed tarball, installed into fresh projects', () => {
  beforeAll(async () => {
    await ensureBuilt()
    work = mkdtempSync(join(tmpdir(), 'celeriac-install-'))
    // --ignore-scripts: dist/ is built above; `prepare` would build it again.
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root })
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[]
    tarball = join(work, packed!.filename)
    packedFiles = packed!.files.map((file) => file.path)
    // One after the other: the first fills the npm cache's registry documents for the rest.
    projects.esm = await install('esm', esmProject)
    ;[projects.cjs, projects.ts] = await Promise.all([install('cjs', cjsProject), install('ts', tsProject)])
    for (const name of ['@types/node', 'bullmq', 'ioredis']) linkFromCheckout(projects.ts, name)
    for (const config of ['node16', 'node10', 'bundler'] as const) checks[config] = tsc(projects.ts, `tsconfig.${config}.json`)
  }, 600_000)
  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true })
  })

  it('holds dist/ with both formats and the worker entries, and no source maps or sources', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.cjs',
      'dist/node-worker.js',
      'dist/node-worker.cjs',
      'dist/dashboard/page.js',
      'LICENSE',
      'CHANGELOG.md',
    ]) {
      expect(packedFiles).toContain(file)
    }
    expect(packedFiles.filter((file) => file.endsWith('.map') || file.startsWith('src/'))).toEqual([])
    const installed = join(projects.esm, 'node_modules', 'celeriac')
    expect(existsSync(join(installed, 'src'))).toBe(false)
    expect(readdirSync(join(installed, 'dist')).some((file) => file.endsWith('.map'))).toBe(false)
  })

  it('every relative link in README.md names a file in the package', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:|^#/.test(href))
    expect(targets.length).toBeGreaterThan(0)
    const missing = targets
      .map((href) => href.split('#')[0]!.replace(/\/$/, ''))
      .filter((path) => !packedFiles.some((file) => file === path || file.startsWith(`${path}/`)))
    expect(missing).toEqual([])
  })

  it('an ES module project: tasks inline on a virtual clock, and in a worker thread started from node_modules/celeriac', async () => {
    expect(await runNode(projects.esm, 'main.js')).toEqual(ran)
  })

  it('a CommonJS project: the same through require()', async () => {
    expect(await runNode(projects.cjs, 'main.cjs')).toEqual(ran)
  })

  it('TypeScript, moduleResolution node16: an .mts and a .cts file type-check against the package, compile and run', async () => {
    expect(await checks.node16).toBe('')
    expect(await runNode(projects.ts, 'out/main.mjs')).toEqual(ran.inline)
    expect(await runNode(projects.ts, 'out/main.cjs')).toEqual(ran.inline)
  }, 180_000)

  it('TypeScript, moduleResolution node10: every subpath has its types', async () => {
    expect(await checks.node10).toBe('')
  }, 180_000)

  it('TypeScript, moduleResolution bundler with lib ES2022 + DOM (no esnext.disposable), skipLibCheck off: the declarations compile', async () => {
    expect(await checks.bundler).toBe('')
  }, 180_000)

  it('esbuild bundles the browser entry with no error or warning and no node: import', async () => {
    const result = await esbuild({
      entryPoints: [join(projects.esm, 'browser-app.js')],
      absWorkingDir: projects.esm,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    })
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
    const [out] = result.outputFiles
    expect(out!.text).toContain('indexedDB')
    expect(out!.text).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/)
  })

  it('Vite builds a page on the browser entry with no warning and no node: import', async () => {
    const warnings: string[] = []
    const logger: Logger = {
      info: () => {},
      warn: (message) => warnings.push(message),
      warnOnce: (message) => warnings.push(message),
      error: (message) => warnings.push(message),
      clearScreen: () => {},
      hasErrorLogged: () => false,
      hasWarned: false,
    }
    await vite({ root: projects.esm, configFile: false, logLevel: 'warn', customLogger: logger, build: { outDir: join(projects.esm, 'dist-vite') } })
    expect(warnings).toEqual([])
    const assets = join(projects.esm, 'dist-vite', 'assets')
    const scripts = readdirSync(assets).filter((file) => file.endsWith('.js'))
    expect(scripts.length).toBeGreaterThan(0)
    const text = scripts.map((file) => readFileSync(join(assets, file), 'utf8')).join('\n')
    expect(text).toContain('indexedDB')
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/)
  })

  it("esbuild's browser bundle of the core entry runs a task in Node", async () => {
    writeFileSync(join(projects.esm, 'core-app.js'), coreApp)
    await esbuild({
      entryPoints: [join(projects.esm, 'core-app.js')],
      absWorkingDir: projects.esm,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(projects.esm, 'out', 'core-app.js'),
      logLevel: 'silent',
    })
    expect(await runNode(projects.esm, 'out/core-app.js')).toEqual(ran.inline)
  })
})
