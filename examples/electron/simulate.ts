/**
 * The example without Electron: the main process's engine (engine.ts: file storage, worker
 * threads) and the renderer's logic (ui.ts), wired as main.ts and renderer.ts wire them, with
 * Node's MessageChannel in place of Electron's MessageChannelMain. test/examples/electron.test.ts
 * runs it.
 *
 *   npx tsx examples/electron/simulate.ts [dir]     (default dir: .celeriac-electron)
 */
import { MessageChannel } from 'node:worker_threads'
import { remoteApp, serveApp } from '../../src/remote/index.js'
import { startEngine } from './engine.js'
import { runBatch } from './ui.js'

const dir = process.argv[2] ?? '.celeriac-electron'
// main.ts
const engine = await startEngine(dir, new URL('./worker.ts', import.meta.url))
const { port1, port2 } = new MessageChannel()
serveApp(engine, port1)
// renderer.ts
const remote = remoteApp(port2)
const files = ['a.jpg', 'b.jpg', 'c.jpg']
const last = new Map<string, number>()
await runBatch(remote, files, {
  progress: (file, percent) => {
    if (percent < (last.get(file) ?? 0)) throw new Error(`${file}: progress went back`)
    last.set(file, percent)
    if (percent % 50 === 0) console.log(`${file} ${String(percent)}%`)
  },
  done: (summary) => console.log(`done: ${JSON.stringify(summary)}`),
  failed: (error) => console.log(`failed: ${error.name}: ${error.message}`),
})
console.log(`bars: ${files.map((file) => `${file}=${String(last.get(file))}`).join(' ')}`)
remote.close()
port2.close()
await engine.stop()
