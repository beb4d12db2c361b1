import type { Celeriac } from '../../src/index.js'

/** Tasks of the canvas scenarios. */
export function defineCanvasTasks(app: Celeriac) {
  return {
    canvasEcho: app.task('canvas.echo', (value: unknown) => value),
  }
}
