/**
 * The one file that moves the tests off Redis: every BullMQ class made without a backend of its
 * own now runs on celeriac (memory storage, one per test process), on a virtual clock that the
 * tests move with `passTime`. Leave this file out and the same tests run on Redis.
 */
import { setDefaultBackendFactory } from 'bullmq'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { virtualClock } from '../../src/testing.js'
import { useVirtualClock } from './time.js'

const clock = virtualClock()
setDefaultBackendFactory(bullmqBackend({ clock }))
useVirtualClock(clock)
