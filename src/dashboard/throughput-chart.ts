/// <reference lib="dom" />
/** The throughput chart (uPlot): tasks succeeded and failed per second over the last minute. */
import uPlot from 'uplot'
import { h } from './dom.js'
import type { Throughput } from './throughput.js'

export class ThroughputChart {
  readonly element: HTMLElement
  readonly #rates: Throughput
  readonly #plot: uPlot
  readonly #summary: HTMLElement
  #drawn = ''

  constructor(rates: Throughput, nowMs: number) {
    this.#rates = rates
    const target = h('div', { class: 'chart', role: 'img', 'aria-label': 'Tasks succeeded and failed per second, last minute' })
    this.#summary = h('p', { class: 'summary' })
    this.element = h(
      'section',
      { class: 'panel throughput', 'aria-labelledby': 'celeriac-chart-title' },
      h('h2', { id: 'celeriac-chart-title' }, 'Throughput'),
      target,
      this.#summary,
    )
    this.#plot = new uPlot(
      {
        width: 420,
        height: 130,
        legend: { show: false },
        cursor: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        series: [{}, { label: 'succeeded/s', stroke: '#1a7f37', width: 2 }, { label: 'failed/s', stroke: '#cf222e', width: 2 }],
        axes: [{ size: 24 }, { size: 40 }],
      },
      rates.series(nowMs),
      target,
    )
  }

  /** Fits the chart to its box (called when the page resizes). */
  resize(): void {
    const box = this.element.querySelector('.chart')?.getBoundingClientRect()
    if (box !== undefined && box.width > 0) this.#plot.setSize({ width: Math.floor(box.width), height: 130 })
  }

  render(nowMs: number): void {
    const data = this.#rates.series(nowMs)
    const key = `${String(data[0].at(-1))}|${data[1].join(',')}|${data[2].join(',')}`
    if (key === this.#drawn) return
    this.#drawn = key
    this.#plot.setData(data)
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    this.#summary.textContent = `Last minute: ${String(sum(data[1]))} succeeded, ${String(sum(data[2]))} failed`
  }

  destroy(): void {
    this.#plot.destroy()
  }
}
