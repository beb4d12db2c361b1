/**
 * What a bound `self` asks of the engine from a runtime (inline or in a worker): each call a
 * protocol message, its handles reading through the engine too (./run-results.ts).
 */
import { freeze } from '../canvas/expand.js'
import { checkSignature } from '../canvas/signature.js'
import type { HandleJSON } from '../model/context.js'
import { uuid4 } from '../model/ids.js'
import type { SignatureJSON } from '../model/message.js'
import type { FromRuntime, RpcCall } from '../model/protocol.js'
import { handleFromJSON } from '../result/result.js'
import { encode } from '../serializer/encode.js'
import type { Lock, RunContext } from '../task/task.js'
import { RunResults } from './run-results.js'

/** The runtime's side of one run's calls. */
export interface RunChannel {
  /** Posts a message to the engine. */
  post(message: FromRuntime): void
  /** Calls the engine and resolves with its decoded reply; `signal` ends a wait early. */
  rpc(call: RpcCall, signal?: AbortSignal): Promise<unknown>
  /** Throws the run's abort reason when it was aborted (a soft limit, terminate). */
  checkAbort(): void
}

/** The context of run `id`: `self`'s state updates, sleeps, locks, sends, results and logs. */
export function runContext(id: string, channel: RunChannel): RunContext {
  const { rpc, checkAbort } = channel
  let results: RunResults | undefined
  const resultsOf = (): RunResults => (results ??= new RunResults(rpc, checkAbort))
  return {
    updateState: (state, meta) => channel.post({ type: 'state', id, state, meta: encode(meta, 'meta') }),
    sleep: async (ms) => {
      await rpc({ type: 'sleep', ms })
      checkAbort()
    },
    lock: async (key, ttl, wait) => {
      const granted = (await rpc({ type: 'lock.acquire', key, ttl, wait })) as { token: number; owner: string } | null
      return granted === null ? null : remoteLock(key, granted.token, granted.owner, rpc)
    },
    send: (signature, args, options) => {
      let json: SignatureJSON
      try {
        checkSignature(signature, 'self.send(signature)')
        // Frozen here, as app.send does: a chain's or chord's handle needs every id before it is sent.
        json = freeze(
          signature
            .clone({ args: [...args, ...signature.args] })
            .set(options)
            .toJSON(),
          FREEZE_ENV,
        )
      } catch (error) {
        // Bad input rejects the send, as a send from outside a task does.
        return Promise.reject(error)
      }
      // Its handles read and wait through the engine too: a wait parks this task.
      return rpc({ type: 'send', signature: json }).then((handle) => handleFromJSON(handle as HandleJSON, resultsOf()))
    },
    results: resultsOf,
    log: (level, text) => channel.post({ type: 'log', id, level, text }),
  }
}

function remoteLock(key: string, token: number, owner: string, rpc: (call: RpcCall) => Promise<unknown>): Lock {
  const release = async (): Promise<boolean> => (await rpc({ type: 'lock.release', key, token, owner })) as boolean
  return {
    key,
    token,
    release,
    extend: async (ttl) => (await rpc({ type: 'lock.extend', key, token, owner, ttl })) as boolean,
    [Symbol.asyncDispose]: async () => {
      await release()
    },
  }
}

/** Ids for canvases a running task sends (see `send` above). */
const FREEZE_ENV = { newId: uuid4 }
