/**
 * The Electron example's tasks: CPU work ("render a thumbnail", standing in for image or file
 * processing) that reports progress, and a summary of a batch. Defined by a function of the app,
 * so the same definitions serve the main process and each worker thread (worker.ts).
 */
import type { Celeriac, Task } from '../../src/index.js'

/** CPU work standing in for real rendering: a checksum over `size` rounds of arithmetic. */
function crunch(seed: number, rounds: number): number {
  let x = seed
  for (let i = 0; i < rounds; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648
  return x
}

export interface Thumbnail {
  file: string
  checksum: number
}

export function defineTasks(app: Celeriac) {
  const render = app.task('thumbs.render', { bind: true, acksLate: true }, (self: Task, file: string, steps: number) => {
    let checksum = file.length
    for (let step = 1; step <= steps; step++) {
      checksum = crunch(checksum + step, 200_000)
      self.progress(step, steps, { file })
    }
    return { file, checksum } satisfies Thumbnail
  })
  const summarize = app.task('thumbs.summarize', (thumbnails: Thumbnail[]) => ({
    count: thumbnails.length,
    files: thumbnails.map((t) => t.file),
  }))
  return { render, summarize }
}

export type Tasks = ReturnType<typeof defineTasks>
