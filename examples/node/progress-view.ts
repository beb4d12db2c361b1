/** Progress bars in the terminal, one per chunk task, fed by the app's events. */
import type { Celeriac } from '../../src/index.js'

export function progressView(app: Celeriac, taskName: string) {
  const percent = new Map<string, number>()
  const order: string[] = []
  const interactive = process.stdout.isTTY === true
  let drawn = 0

  function draw(final = false): void {
    if (!interactive && !final) return
    if (interactive && drawn > 0) process.stdout.write(`\x1b[${String(drawn)}A`)
    const lines = order.map((id, i) => {
      const p = percent.get(id) ?? 0
      const bar = '#'.repeat(Math.round(p / 5)).padEnd(20, '.')
      return `chunk ${String(i + 1).padStart(2)}  [${bar}] ${String(p).padStart(3)}%`
    })
    process.stdout.write(`${lines.join('\n')}\n`)
    drawn = lines.length
  }

  app.events.on('task-progress', (e) => {
    if (e.name !== taskName) return
    percent.set(e.id, (e.meta as { percent: number }).percent)
    draw()
  })
  app.events.on('task-succeeded', (e) => {
    if (e.name !== taskName) return
    percent.set(e.id, 100)
    draw()
  })

  return {
    /** Shows a bar for each of these task ids, in this order. */
    track(ids: readonly string[]): void {
      order.push(...ids)
      draw()
    },
    draw,
  }
}
