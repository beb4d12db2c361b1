/** The book of held deliveries on a transport: by id, in order; a run settles the oldest, a give-back takes the newest. */
import { expect, it } from 'vitest'
import { HeldDeliveries } from '../../src/core/engine/held-deliveries.js'
import type { Delivery } from '../../src/core/engine/transport.js'
import { plainMessage } from '../../src/core/model/message.js'

const delivery = (id: string): Delivery => ({
  message: plainMessage(id, 'held.t', [], 'default'),
  redelivered: false,
  ack: async () => {},
  defer: async () => {},
  requeue: async () => {},
})

it('keeps the deliveries of one id in order: settling moves to the next, a give-back takes the newest', () => {
  const held = new HeldDeliveries()
  const [a, b, c] = [delivery('x'), delivery('x'), delivery('x')]
  held.add(a, false)
  held.add(b, false)
  held.add(c, false)
  expect(held.oldest('x')).toBe(a)
  expect(held.takeNewest('x')).toBe(c)
  held.settle('x')
  expect(held.oldest('x')).toBe(b)
  held.settle('x')
  expect(held.has('x')).toBe(false)
  expect(held.takeNewest('x')).toBeUndefined()
})

it('a delivery replacing the one of its id (the broker took it back) takes the oldest place', () => {
  const held = new HeldDeliveries()
  const [a, again] = [delivery('y'), delivery('y')]
  held.add(a, false)
  held.add(again, true)
  expect(held.oldest('y')).toBe(again)
  held.settle('y')
  expect(held.has('y')).toBe(false)
})
