/// <reference lib="dom" />
/**
 * The page the endpoint serves at `/dashboard/`: the token comes from the URL's fragment
 * (`#token=...`, which the browser never sends to a server), then from the tab's sessionStorage.
 */
import { httpSource } from './http-source.js'
import { mountDashboard } from './mount.js'

const KEY = 'celeriac-dashboard-token'
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(KEY)
const root = document.getElementById('dashboard')
if (root !== null) {
  if (token === null || token === '') {
    root.textContent = 'Open this page with the endpoint token in the address: /dashboard/#token=<token>'
  } else {
    // Out of the address bar and the history, so it is not shared with a screenshot or a link;
    // kept for this tab only, so a reload still works.
    sessionStorage.setItem(KEY, token)
    history.replaceState(null, '', location.pathname)
    document.body.style.margin = '0'
    root.style.height = '100vh'
    mountDashboard(root, { source: httpSource('', token), title: document.title })
  }
}
