/**
 * Electron's main process: owns the engine (file storage in the user's data folder, worker
 * threads for the CPU work) and serves it to each window over a MessagePortMain.
 *
 * Built and started as README.md says.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BrowserWindow, MessageChannelMain, app as electron } from 'electron'
import type { Celeriac } from '../../src/index.js'
import { serveApp } from '../../src/remote/index.js'
import type { ServedApp } from '../../src/remote/index.js'
import { startEngine } from './engine.js'

const here = fileURLToPath(new URL('.', import.meta.url))
let engine: Celeriac | undefined
const servedPorts: ServedApp[] = []

async function openWindow(app: Celeriac): Promise<void> {
  const win = new BrowserWindow({ width: 720, height: 560, webPreferences: { preload: join(here, 'preload.js'), contextIsolation: true } })
  // A new port per page load: a reload gets a fresh remote, the old port's remote is closed.
  win.webContents.on('did-finish-load', () => {
    const { port1, port2 } = new MessageChannelMain()
    servedPorts.push(serveApp(app, port1))
    win.webContents.postMessage('celeriac-port', null, [port2])
  })
  await win.loadFile(join(here, 'index.html'))
}

await electron.whenReady()
engine = await startEngine(join(electron.getPath('userData'), 'celeriac'), new URL('./worker.js', import.meta.url))
await openWindow(engine)

electron.on('window-all-closed', () => electron.quit())
// Warm shutdown: running renders finish (up to 10 s), queued ones stay on disk for the next start.
let stopping = false
electron.on('before-quit', (event) => {
  if (stopping || engine === undefined) return
  event.preventDefault()
  stopping = true
  // Stop serving first: a page still waiting on a result hears ChannelClosedError, not nothing.
  for (const served of servedPorts) served.close()
  void engine.stop({ timeout: 10_000 }).finally(() => electron.quit())
})
