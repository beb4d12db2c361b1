/**
 * The backend module for BullMQ's own test suite (the yardstick runner in the project's shared
 * folder, `npm run yardstick:bullmq`): `bullmqBackend()` on memory storage, or on file storage
 * in a fresh directory when YARDSTICK_STORAGE=file.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { fileStorage } from '../../src/storage/file/index.js'

const storage = process.env.YARDSTICK_STORAGE === 'file' ? fileStorage({ dir: mkdtempSync(join(tmpdir(), 'celeriac-bullmq-')) }) : undefined

export const backendFactory = bullmqBackend(storage === undefined ? {} : { storage })
