/**
 * A reader's project as `npm install /path/to/celeriac` (README's Install) leaves it: npm links a
 * directory it installs, so node_modules/celeriac is this checkout, and node_modules/.bin holds
 * links to its bins (package.json "bin"). There `npx celeriac` runs that bin at once, as in a
 * user's project. In the checkout itself npx would instead install the checkout into its cache
 * as a link, which runs the `prepare` script (a whole tsup build, cleaning dist/ under the other
 * test files that use it) the first time, and reads all of node_modules every time.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { root } from './built.js'

/** Makes `at` (an existing directory) such a project, an ES module package. */
export function readerProject(at: string): void {
  const checkout = dirname(join(root, 'package.json'))
  const { bin } = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { bin: Record<string, string> }
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name: 'reader', private: true, type: 'module', dependencies: { celeriac: `file:${checkout}` } }))
  mkdirSync(join(at, 'node_modules', '.bin'), { recursive: true })
  symlinkSync(checkout, join(at, 'node_modules', 'celeriac'), 'dir')
  for (const [name, target] of Object.entries(bin)) symlinkSync(join('..', 'celeriac', target), join(at, 'node_modules', '.bin', name))
}
