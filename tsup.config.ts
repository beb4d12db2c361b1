import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'index-node': 'src/index-node.ts',
    node: 'src/node.ts',
    browser: 'src/browser.ts',
    testing: 'src/testing.ts',
    bullmq: 'src/bullmq/index.ts',
    celery: 'src/celery/index.ts',
    // celeriac/remote: environment-neutral (Electron renderers, pages, workers), no node:* imports.
    remote: 'src/remote/index.ts',
    'node-worker': 'src/adapters/node/worker.ts',
    // The `celeriac` command (package.json "bin"); its #! line is the source's, which esbuild keeps.
    cli: 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // import.meta.url in the CJS build (worker URLs)
  shims: true,
  splitting: true,
})
