/**
 * The page's progress rows, one per chunk. Each task's updates are kept as they come and drawn
 * once per animation frame, the bar's width and its words from the same value (no CSS
 * transition), so the bar never lags its label. A chunk whose progress goes back (a reload cut it
 * short and it runs again) is marked "restarted".
 */
import type { Celeriac } from '../../src/browser.js'
import { states } from '../../src/browser.js'

interface Row {
  bar: HTMLElement
  label: HTMLElement
  percent: number
  state: string
  restarted: boolean
  drawn: string
}

const percentOf = (info: unknown): number => Math.round((info as { percent?: number } | null)?.percent ?? 0)

/** Shows a row per chunk task in `box`; `stop()` ends their updates (the rows stay as they are). */
export function chunkRows(app: Celeriac, box: HTMLElement, ids: readonly string[]): { stop(): void } {
  let stopped = false
  const rows = ids.map((id, i): Row => {
    const element = document.createElement('div')
    element.className = 'chunk'
    element.innerHTML = `<span>chunk ${i + 1}/${ids.length}</span><div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div></div></div><span class="state"></span>`
    box.append(element)
    const row: Row = {
      bar: element.querySelector('.bar > div') as HTMLElement,
      label: element.querySelector('.state') as HTMLElement,
      percent: 0,
      state: states.PENDING,
      restarted: false,
      drawn: '',
    }
    void follow(id, row)
    return row
  })

  async function follow(id: string, row: Row): Promise<void> {
    let seen = false
    for await (const update of app.AsyncResult(id).progress()) {
      if (stopped) return
      const percent = update.state === states.SUCCESS ? 100 : update.state === states.PROGRESS ? percentOf(update.info) : 0
      // Back to the start after some progress: this is a new attempt, not the same one slipping.
      if (seen && percent < row.percent && update.state !== states.REVOKED && update.state !== states.FAILURE) row.restarted = true
      seen = true
      row.percent = percent
      row.state = update.state
    }
  }

  function draw(): void {
    if (stopped) return
    for (const row of rows) {
      const words = row.state === states.PROGRESS ? `${row.percent}%` : row.state
      const text = row.restarted ? `${words} (restarted)` : words
      const key = `${row.percent} ${text}`
      if (key === row.drawn) continue
      row.drawn = key
      row.bar.style.width = `${row.percent}%`
      row.bar.parentElement!.setAttribute('aria-valuenow', String(row.percent))
      row.label.textContent = text
    }
    requestAnimationFrame(draw)
  }
  draw()

  return {
    stop(): void {
      stopped = true
    },
  }
}
