/**
 * The dashboard's style sheet, adopted by its shadow root (a constructed sheet: the served
 * page's CSP allows no inline style, and the host page's CSS does not leak in or out). Sized
 * for a 1366×768 laptop screen; the few uPlot rules it needs are here too.
 */
export const DASHBOARD_CSS = `
:host { all: initial; display: block; font: 14px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
* { box-sizing: border-box; }
.root { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); grid-template-rows: auto auto minmax(0, 1fr); gap: 8px; padding: 8px; height: 100%; min-height: 600px; }
header { grid-column: 1 / -1; display: flex; align-items: baseline; gap: 16px; }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 6px; }
h3 { font-size: 13px; margin: 10px 0 4px; }
.status { color: #57606a; }
.status[data-state="live"]::before { content: "● "; color: #1a7f37; }
.status[data-state="reconnecting"]::before { content: "● "; color: #bf8700; }
.status[data-state="refused"] { color: #a40e26; }
.message { margin-left: auto; color: #0969da; }
.panel { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; min-width: 0; min-height: 0; display: flex; flex-direction: column; }
.panel:focus { outline: 2px solid #0969da; }
.tasks { grid-column: 1; grid-row: 3; }
.detail { grid-column: 2; grid-row: 3; overflow: auto; }
.detail > * { flex-shrink: 0; }
.queues { grid-column: 1; grid-row: 2; max-height: 200px; }
.throughput { grid-column: 2; grid-row: 2; }
.scroll { overflow: auto; min-height: 0; flex: 1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
thead th { position: sticky; top: 0; background: #fff; font-weight: 600; color: #57606a; }
td.name { max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
td.id { font-family: ui-monospace, monospace; color: #57606a; }
tbody tr[tabindex] { cursor: pointer; }
tbody tr[tabindex]:hover { background: #f3f4f6; }
tbody tr[tabindex][aria-selected="true"] { background: #ddf4ff; }
tbody tr:focus { outline: 2px solid #0969da; outline-offset: -2px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 6px; }
.chips { display: flex; gap: 4px; }
button { font: inherit; padding: 2px 10px; border: 1px solid #8c959f; border-radius: 4px; background: #f6f8fa; color: #1f2328; cursor: pointer; }
button:hover { background: #eaeef2; }
button:focus-visible, input:focus-visible { outline: 2px solid #0969da; outline-offset: 1px; }
button.danger { border-color: #cf222e; color: #a40e26; }
button:disabled { border-color: #d0d7de; color: #8c959f; background: #f6f8fa; cursor: not-allowed; }
button.link { border: none; background: none; color: #0969da; padding: 0; text-decoration: underline; }
.chip[aria-pressed="true"] { background: #0969da; border-color: #0969da; color: #fff; }
input[type="search"] { font: inherit; padding: 2px 6px; border: 1px solid #8c959f; border-radius: 4px; width: 220px; }
.state { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eaeef2; }
.state-success { background: #dafbe1; color: #116329; }
.state-failure, .state-rejected { background: #ffebe9; color: #a40e26; }
.state-revoked { background: #fff1e5; color: #953800; }
.state-started, .state-progress, .state-running { background: #ddf4ff; color: #0550ae; }
.state-paused { background: #fff8c5; color: #7d4e00; }
.progress { display: flex; align-items: center; gap: 6px; }
progress { width: 120px; height: 12px; accent-color: #0969da; }
.progress-text { font-size: 12px; color: #57606a; font-variant-numeric: tabular-nums; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 6px; }
.fields dt { color: #57606a; }
.fields dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.actions { display: flex; gap: 8px; margin: 6px 0; }
pre.value { margin: 0; padding: 6px; background: #f6f8fa; border-radius: 4px; max-height: 140px; overflow: auto; font-size: 12px; white-space: pre-wrap; }
pre.error { background: #ffebe9; }
.tree { list-style: none; margin: 0; padding: 0; }
.tree li { padding: 1px 0 1px calc(var(--depth, 0) * 16px); }
.hint, .summary { color: #57606a; margin: 4px 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.chart { width: 100%; min-height: 130px; }
.uplot { position: relative; width: min-content; }
.u-wrap { position: relative; user-select: none; }
.u-over, .u-under { position: absolute; }
.uplot canvas { display: block; position: relative; width: 100%; height: 100%; }
.u-axis { position: absolute; }
.u-legend { display: none; }
`
