/// <reference lib="dom" />
/** A small element builder for the dashboard's views: plain DOM, text set as text, never as HTML. */

type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>
type Child = Node | string | null | undefined | false

/** `h('button', { class: 'x', onclick: f }, 'Revoke')`; `on*` attributes are listeners, `false`/`undefined` are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child)
  return el
}

/** A value as readable text: JSON, indented, or `-` for none. */
export function pretty(value: unknown): string {
  if (value === undefined) return '-'
  try {
    return JSON.stringify(value, null, 2) ?? '-'
  } catch {
    return String(value)
  }
}

/** A short form of a task id for tables; the full id is in the row's title and the detail pane. */
export function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id
}
