/**
 * The renderer's logic, apart from the DOM: send a batch through the remote app and report each
 * file's progress to `view`. renderer.ts draws it as progress bars; simulate.ts prints it.
 */
import { chord } from '../../src/index.js'
import type { RemoteApp } from '../../src/remote/index.js'
import type { Tasks } from './tasks.js'

export interface BatchView {
  /** A file's progress, 0-100. */
  progress(file: string, percent: number): void
  done(summary: { count: number; files: string[] }): void
  failed(error: Error): void
}

/** Renders `files` in parallel in the main process's worker threads, then summarizes them. */
export async function runBatch(remote: RemoteApp, files: readonly string[], view: BatchView): Promise<void> {
  // Types only: the task module is not loaded in the renderer.
  const render = remote.task<Tasks['render']>('thumbs.render')
  const summarize = remote.task<Tasks['summarize']>('thumbs.summarize')
  const byId = new Map<string, string>()
  remote.events.on('task-progress', (event) => {
    const file = byId.get(event.id)
    if (file !== undefined) view.progress(file, (event.meta as { percent: number }).percent)
  })
  remote.events.on('task-succeeded', (event) => {
    const file = byId.get(event.id)
    if (file !== undefined) view.progress(file, 100)
  })
  // Ids chosen here, so that every event of the batch is known for its file, the first included.
  const header = files.map((file) => {
    const id = crypto.randomUUID()
    byId.set(id, file)
    return render.s(file, 10).set({ taskId: id })
  })
  try {
    const result = await chord(header, summarize.s()).delay()
    view.done(await result.get())
  } catch (error) {
    view.failed(error as Error)
  }
}
