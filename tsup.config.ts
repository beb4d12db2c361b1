import { defineConfig } from 'tsup'

// CELERIAC_BUILD=javascript: no declarations, for a run that only executes dist/ (the bench's
// build through test/package/built.ts; the declaration pass is most of a build's time).
const declarations = process.env.CELERIAC_BUILD !== 'javascript'

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'index-node': 'src/index-node.ts',
      node: 'src/node.ts',
      browser: 'src/browser.ts',
      testing: 'src/testing.ts',
      bullmq: 'src/bullmq/index.ts',
      celery: 'src/celery/index.ts',
      'node-worker': 'src/adapters/node/worker.ts',
      // The `celeriac` command (package.json "bin"); its #! line is the source's, which esbuild keeps.
      cli: 'src/cli/index.ts',
      // `celeriac/dashboard`: mountDashboard for a page of one's own (uplot stays a dependency).
      dashboard: 'src/dashboard/index.ts',
      // celeriac/remote: environment-neutral (Electron renderers, pages, workers), no node:* imports.
      remote: 'src/remote/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: declarations,
    // No source maps in the package (NOTES.md, 2026-12-06): the output is readable, unminified
    // JavaScript, and tsup's CommonJS maps named the build machine's absolute paths.
    sourcemap: false,
    // dist/dashboard/ is the other build's (below), done at the same time: not cleaned here.
    clean: ['!dashboard/**'],
    target: 'es2022',
    // import.meta.url in the CJS build (worker URLs)
    shims: true,
    splitting: true,
  },
  // The page the control endpoint serves at /dashboard/: one browser script with uplot inside,
  // read by src/serve/dashboard.ts from dist/dashboard/page.js.
  {
    entry: { page: 'src/dashboard/page.ts' },
    outDir: 'dist/dashboard',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    noExternal: ['uplot'],
    dts: false,
    sourcemap: false,
    minify: true,
    clean: true,
    splitting: false,
  },
])
