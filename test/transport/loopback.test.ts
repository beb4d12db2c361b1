/**
 * The in-memory broker the conformance suite runs the engine's transport mode on keeps the
 * Transport contract, as bullmqTransport does: what passes on it means what it means on BullMQ.
 */
import { memoryStorage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { transportContract } from './contract.js'
import { loopbackBroker } from './loopback.js'
import type { LoopbackTransport } from './loopback.js'

transportContract('loopback', async () => {
  const clock = virtualClock()
  const store = memoryStorage()
  const broker = loopbackBroker(store)
  const opened: LoopbackTransport[] = []
  return {
    clock,
    async open() {
      const t = broker.transport()
      await t.open({ clock, wake: () => undefined })
      opened.push(t)
      return t
    },
    advance: (ms) => clock.advance(ms),
    // It delivers inside the call that makes room: nothing is ever on its way.
    settle: () => Promise.resolve(),
    // A closed handle's deliveries wait again at once.
    reclaim: () => Promise.resolve(),
    async close() {
      for (const t of opened.splice(0)) await t.close()
    },
  }
})
