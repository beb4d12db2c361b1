// `npm run check:package`: the tarball `npm pack` makes, as a user's tools see it. publint (the
// package.json fields against the files packed, --strict: warnings fail too) and
// @arethetypeswrong/cli (the types each entry gives under node10, node16 from ESM and from CJS,
// and bundler resolution). Both look at the packed dist/ as it is: build first (`npm run build`,
// or `npm ci`, whose `prepare` builds). Packed with --ignore-scripts, so no second build runs.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('check:package: dist/ is not built; run `npm run build` first')
  process.exit(1)
}
const shell = process.platform === 'win32'
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit', shell })
const dir = mkdtempSync(join(tmpdir(), 'celeriac-check-package-'))
try {
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', shell })
  const tarball = join(dir, JSON.parse(packed)[0].filename)
  run('npx', ['--no-install', 'publint', '--strict', '.'])
  run('npx', ['--no-install', 'attw', tarball])
} catch (error) {
  // The tools have said what is wrong above; their exit status is the answer.
  process.exitCode = typeof error.status === 'number' && error.status !== 0 ? error.status : 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
