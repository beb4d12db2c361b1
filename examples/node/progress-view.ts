/**
 * Progress bars in the terminal, one per chunk task, fed by the app's events.
 *
 * On a terminal the table is redrawn in place (cursor up, line by line) at most `fps` times a
 * second, however often the tasks report. Piped (a file, a test), it prints a line when a chunk
 * ends or restarts and the table once at the end, instead of a frame per progress step.
 */
import type { Celeriac } from '../../src/index.js'

type RowState = 'waiting' | 'running' | 'restarted' | 'done' | 'failed'

interface Row {
  number: number
  percent: number
  state: RowState
  /** It was running when the last run stopped (resumed), or it started before: a new start is a restart. */
  started: boolean
}

/** What a row starts as, e.g. from the stored state of a resumed run. */
export interface TrackedChunk {
  id: string
  /** The chunk's number in its workflow (1-based), kept across runs. */
  number: number
  state?: 'waiting' | 'interrupted' | 'done'
  percent?: number
}

export interface ViewOptions {
  /** Frames a second on a terminal. @default 10 */
  fps?: number
}

const HIDE_CURSOR = '\x1b[?25l'
const SHOW_CURSOR = '\x1b[?25h'
const CLEAR_LINE = '\x1b[K'
const CLEAR_BELOW = '\x1b[J'

export function progressView(app: Celeriac, taskName: string, options: ViewOptions = {}) {
  const out = process.stdout
  const interactive = out.isTTY === true
  const rows = new Map<string, Row>()
  let total = 0
  let drawn = 0
  let dirty = false
  let timer: ReturnType<typeof setInterval> | undefined

  const label = (row: Row): string => {
    const bar = '#'.repeat(Math.floor(row.percent / 5)).padEnd(20, '.')
    const note = { waiting: 'waiting', running: `${String(row.percent)}%`, restarted: `${String(row.percent)}% (restarted)`, done: 'done', failed: 'failed' }[
      row.state
    ]
    // Bar and words come from the same row in the same frame: they cannot disagree.
    return `chunk ${String(row.number).padStart(String(total).length)}/${String(total)}  [${bar}] ${note}`
  }
  const table = (): string[] => [...rows.values()].sort((a, b) => a.number - b.number).map(label)
  const doneCount = (): number => [...rows.values()].filter((row) => row.state === 'done').length

  /**
   * The table, or, when it is taller than the terminal (where moving the cursor up cannot reach
   * its top, and each frame would scroll), the done chunks in one line and what fits of the rest.
   */
  function fitted(): string[] {
    const lines = table()
    const height = out.rows ?? 0
    if (height === 0 || lines.length < height) return lines
    const sorted = [...rows.values()].sort((a, b) => a.number - b.number)
    const rest = sorted.filter((row) => row.state !== 'done')
    const room = Math.max(1, height - 2) // the summary line, and the line the cursor rests on
    const shown = rest.length > room ? rest.slice(0, room - 1) : rest
    const more = rest.length - shown.length
    return [`${String(doneCount())}/${String(total)} chunks done`, ...shown.map(label), ...(more > 0 ? [`… and ${String(more)} more`] : [])]
  }

  function frame(): void {
    if (!dirty || !interactive) return
    dirty = false
    const up = drawn > 0 ? `\x1b[${String(drawn)}A\r` : ''
    const lines = fitted()
    // Clear below too: this frame may be shorter than the last.
    out.write(`${up}${lines.map((line) => `${line}${CLEAR_LINE}\n`).join('')}${CLEAR_BELOW}`)
    drawn = lines.length
  }

  /** Piped: one line per change that matters, not per step. */
  function note(row: Row): void {
    if (interactive) return
    out.write(`chunk ${String(row.number)}/${String(total)} ${row.state === 'done' ? 'done' : row.state} (${String(doneCount())} of ${String(total)} done)\n`)
  }

  function update(id: string, change: (row: Row) => void): void {
    const row = rows.get(id)
    if (row === undefined) return
    const before = row.state
    change(row)
    dirty = true
    if (row.state !== before && row.state !== 'running') note(row)
  }

  const restartOrRun = (row: Row): void => {
    if (row.started) {
      row.state = 'restarted'
      row.percent = 0
    } else if (row.state !== 'restarted') row.state = 'running'
    row.started = true
  }
  app.events.on('task-started', (e) => {
    if (e.name === taskName) update(e.id, restartOrRun)
  })
  app.events.on('task-progress', (e) => {
    if (e.name !== taskName) return
    update(e.id, (row) => {
      const percent = (e.meta as { percent: number }).percent
      // Progress that goes back is a new attempt, even when its start went unseen.
      if (percent < row.percent) row.started = true
      if (percent < row.percent || row.state === 'waiting') restartOrRun(row)
      row.percent = percent
    })
  })
  app.events.on('task-succeeded', (e) => {
    if (e.name !== taskName) return
    update(e.id, (row) => {
      row.state = 'done'
      row.percent = 100
    })
  })
  app.events.on('task-failed', (e) => {
    if (e.name === taskName) update(e.id, (row) => (row.state = 'failed'))
  })

  function stop(): void {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    dirty = true
    frame()
    if (interactive) out.write(SHOW_CURSOR)
  }

  return {
    /** Shows a bar for each chunk, in the order of their numbers, out of `of` chunks in all. */
    track(chunks: readonly TrackedChunk[], of = chunks.length): void {
      total = of
      for (const chunk of chunks) {
        const state = chunk.state ?? 'waiting'
        rows.set(chunk.id, {
          number: chunk.number,
          percent: state === 'done' ? 100 : (chunk.percent ?? 0),
          state: state === 'interrupted' ? 'running' : state,
          started: state === 'interrupted',
        })
      }
      dirty = true
      if (!interactive || timer !== undefined) return
      out.write(HIDE_CURSOR)
      frame()
      timer = setInterval(frame, 1000 / (options.fps ?? 10))
      timer.unref()
    },
    /** The last frame (piped: the table, once); the cursor shown again. */
    finish(): void {
      stop()
      if (!interactive && rows.size > 0) out.write(`${table().join('\n')}\n`)
    },
    /**
     * On Ctrl-C: the last frame, the terminal's line left clean, `message(done, total)` said,
     * and the process ended (130, as a shell reports SIGINT).
     */
    exitOnInterrupt(message: (done: number, total: number) => string): void {
      let said = false
      // `on`, not `once`: under tsx the signal may come twice (the terminal's, relayed by tsx).
      process.on('SIGINT', () => {
        if (said) return
        said = true
        stop()
        // The terminal echoed ^C where the cursor was, under the table: write over it.
        out.write(`${interactive ? `\r${CLEAR_LINE}` : ''}${message(doneCount(), total)}\n`, () => process.exit(130))
      })
    },
  }
}
