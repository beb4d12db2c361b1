/**
 * The endpoint on a Unix socket (`serve(app, { socket, token })`): the same routes and the same
 * token, on a socket file only its owner may open.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { ConfigError, serve } from '../../src/node.js'
import { TOKEN, overSocket, served } from './harness.js'

let s: Awaited<ReturnType<typeof served>>
let dir: string
afterEach(async () => {
  await s.stop()
  rmSync(dir, { recursive: true, force: true })
})

it("answers on the socket with the token, 401 without; the file is its owner's only; close() removes it", async () => {
  dir = mkdtempSync(join(tmpdir(), 'celeriac-serve-'))
  const socket = join(dir, 'control.sock')
  s = await served({ socket })
  expect(s.endpoint.url).toBe(`unix:${socket}`)
  expect(statSync(socket).mode & 0o777).toBe(0o600)

  expect(await overSocket(socket, 'GET', '/v1/inspect/stats', null)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } })
  const r = await s.tasks.add.delay(1, 2)
  await s.clock.runAll()
  expect(await overSocket(socket, 'GET', '/v1/inspect/stats')).toEqual({ status: 200, body: JSON.parse(JSON.stringify(s.app.inspect.stats())) })
  expect(await overSocket(socket, 'GET', `/v1/results/${r.id}`)).toMatchObject({ status: 200, body: { id: r.id, state: 'SUCCESS', result: 3 } })
  expect(await overSocket(socket, 'POST', '/v1/control/revoke', TOKEN, '{"ids":')).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } })

  // A second endpoint on the same path is refused, not given someone else's socket.
  await expect(serve(s.app, { socket, token: TOKEN })).rejects.toThrow(ConfigError)
  await s.endpoint.close()
  expect(existsSync(socket)).toBe(false)
})
