/** The page: a button that renders a batch in the main process, with a progress bar per file. */
import { remoteApp } from '../../src/remote/index.js'
import type { RemoteApp } from '../../src/remote/index.js'
import { runBatch } from './ui.js'

let remote: RemoteApp | undefined

window.addEventListener('message', (event: MessageEvent) => {
  if (event.source !== window || event.data !== 'celeriac-port') return
  remote?.close()
  remote = remoteApp(event.ports[0]!)
  const button = document.querySelector<HTMLButtonElement>('#start')!
  button.disabled = false
  button.onclick = async () => {
    // One batch at a time: a double click (or a click while it renders) sends nothing more.
    if (button.disabled) return
    button.disabled = true
    try {
      await start(remote!)
    } finally {
      button.disabled = false
    }
  }
})

async function start(app: RemoteApp): Promise<void> {
  const files = Array.from({ length: 6 }, (_, i) => `photo-${String(i + 1)}.jpg`)
  const list = document.querySelector('#bars')!
  const status = document.querySelector('#status')!
  const bars = new Map<string, HTMLProgressElement>()
  list.replaceChildren(
    ...files.map((file) => {
      const row = document.createElement('li')
      const bar = document.createElement('progress')
      bar.max = 100
      bar.value = 0
      bars.set(file, bar)
      row.append(`${file} `, bar)
      return row
    }),
  )
  status.textContent = 'rendering…'
  await runBatch(app, files, {
    progress: (file, percent) => {
      const bar = bars.get(file)
      if (bar !== undefined) bar.value = percent
    },
    done: (summary) => {
      status.textContent = `done: ${String(summary.count)} thumbnails`
    },
    failed: (error) => {
      status.textContent = `failed: ${error.name}: ${error.message}`
    },
  })
}
