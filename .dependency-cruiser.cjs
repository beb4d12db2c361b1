/**
 * The layers of src/core and what the core may import (`npm test` runs this: test/build/layers.test.ts;
 * by hand: `npx depcruise src --config .dependency-cruiser.cjs`). Each folder of src/core imports
 * only from the folders before it in LAYERS, never from one after it; no file imports itself
 * back through others; the core imports no Node built-in and no package but its own
 * dependencies. (The DOM: the tsconfig's lib has none; the test also rejects a
 * `/// <reference lib="dom" />` under src/core, which dependency-cruiser does not read.)
 */
const LAYERS = ['model', 'time', 'serializer', 'result', 'canvas', 'task', 'executor', 'engine', 'schedule', 'app']

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: move the shared part down a layer.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer}`,
      comment: `src/core/${layer} is below ${LAYERS.slice(i + 1).join(', ')}: it must not import them (order: ${LAYERS.join(' -> ')}).`,
      severity: 'error',
      from: { path: `^src/core/${layer}/` },
      to: { path: `^src/core/(${LAYERS.slice(i + 1).join('|')})/` },
    })),
    {
      name: 'core-in-layers',
      comment: 'Every file of src/core is in one of the layer folders.',
      severity: 'error',
      from: {},
      to: { path: '^src/core/', pathNot: `^src/core/(${LAYERS.join('|')})/` },
    },
    {
      name: 'core-no-node',
      comment: 'src/core runs anywhere: no Node built-in.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'remote-no-node',
      comment: 'src/remote (celeriac/remote) runs in renderers, pages and workers: no Node built-in.',
      severity: 'error',
      from: { path: '^src/remote/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'core-packages',
      comment: 'src/core uses only its own dependencies (eventemitter3, lru-cache, croner).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'],
        pathNot: ['(^|/)node_modules/(eventemitter3|lru-cache|croner)/'],
      },
    },
    {
      name: 'core-outside',
      comment: 'Outside src/core, the core imports only the storage contract, and the app the memory storage (its default).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/storage/types[.]ts$', '^src/storage/memory[.]ts$'] },
    },
    {
      name: 'core-memory-storage',
      comment: 'Only the app (its default storage) imports the memory storage.',
      severity: 'error',
      from: { path: '^src/core/', pathNot: '^src/core/app/' },
      to: { path: '^src/storage/memory[.]ts$' },
    },
    {
      name: 'core-unresolvable',
      comment: 'An import that does not resolve.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle of types is still a cycle between the files.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    exclude: { path: '^(dist|node_modules)/' },
  },
}
