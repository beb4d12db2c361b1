/**
 * The dashboard's page at `/dashboard/`: an HTML shell and its bundled script
 * (`dist/dashboard/page.js`, built by tsup from `src/dashboard/page.ts`). They hold no data, so
 * they are served without the token; the page takes the token from its URL's fragment and sends
 * it with every `/v1` call. Strict headers: scripts, styles and requests to this origin only.
 */
import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { HttpError } from './errors.js'

/** The paths this file answers; everything else goes through the token check and the routes. */
export function isDashboardPath(pathname: string): boolean {
  return pathname === '/dashboard' || pathname.startsWith('/dashboard/')
}

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>celeriac dashboard</title>
<link rel="icon" href="data:,">
<script type="module" src="./page.js"></script>
</head>
<body>
<main id="dashboard"></main>
<noscript>The celeriac dashboard needs JavaScript.</noscript>
</body>
</html>
`

/**
 * Where the built page script is: next to the built endpoint (`dist/dashboard/page.js` beside
 * `dist/node.js`), or, running from a source checkout, in its `dist/`.
 */
const SCRIPT_PLACES = [new URL('./dashboard/page.js', import.meta.url), new URL('../../dist/dashboard/page.js', import.meta.url)]
let script: Promise<Buffer | undefined> | undefined

async function pageScript(): Promise<Buffer | undefined> {
  script ??= (async () => {
    for (const place of SCRIPT_PLACES) {
      try {
        return await readFile(place)
      } catch {
        // not there: the next place
      }
    }
    script = undefined // built later (npm run build): look again on the next request
    return undefined
  })()
  return script
}

/** Answers a GET of the dashboard's shell or script. */
export async function serveDashboard(method: string, pathname: string, res: ServerResponse): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${pathname} takes GET, not ${method}`)
  }
  if (pathname === '/dashboard') {
    res.writeHead(308, { ...HEADERS, location: '/dashboard/' })
    return void res.end()
  }
  if (pathname === '/dashboard/') return send(res, 'text/html; charset=utf-8', SHELL, method)
  if (pathname === '/dashboard/page.js') {
    const body = await pageScript()
    if (body === undefined) throw new HttpError(503, 'NOT_BUILT', "the dashboard's script is not built: run `npm run build` (it writes dist/dashboard/page.js)")
    return send(res, 'text/javascript; charset=utf-8', body, method)
  }
  throw new HttpError(404, 'NOT_FOUND', `no dashboard file ${pathname} (open /dashboard/#token=<token>)`)
}

function send(res: ServerResponse, type: string, body: string | Buffer, method: string): void {
  res.writeHead(200, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(method === 'HEAD' ? undefined : body)
}
