/** kill -9 at random points, tasks run in the killed process's worker threads (crash-run.ts says what is checked). */
import { it } from 'vitest'
import { ROUNDS, TIMEOUT_MS, survivesKills } from './crash-run.js'

it(`threads executor: survives ${ROUNDS} kill -9s at random points with every sent task accounted for`, () => survivesKills('threads', ROUNDS), TIMEOUT_MS)
