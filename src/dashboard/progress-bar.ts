/// <reference lib="dom" />
/** A labelled progress bar: the native `<progress>` (a progressbar to assistive technology) and its text. */
import { h } from './dom.js'

export function progressBar(label: string, current: number, total: number): HTMLElement {
  const percent = total > 0 ? Math.min(100, Math.floor((current / total) * 100)) : 0
  return h(
    'div',
    { class: 'progress' },
    h('progress', { max: 100, value: percent, 'aria-label': label, 'aria-valuetext': `${String(percent)}% (${String(current)} of ${String(total)})` }),
    h('span', { class: 'progress-text' }, `${String(percent)}%  ${String(current)}/${String(total)}`),
  )
}
