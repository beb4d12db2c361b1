/**
 * Typed errors. Every error celeriac raises is a {@link CeleriacError} with a stable `code`:
 * compare codes or classes, never messages. Errors cross every boundary (storage, workers) as
 * data; `registerErrorClass` (error-registry.ts) lets a custom class arrive as itself.
 *
 * This file gathers them (import them from here); each concept has its file: the base class and
 * codes (error-base.ts), how a run ends (run-errors.ts), the app's own use (app-errors.ts), the
 * boundaries data crosses (boundary-errors.ts). It exports error classes and their types only:
 * error-registry.ts registers every class it exports.
 */
export * from './app-errors.js'
export * from './boundary-errors.js'
export * from './error-base.js'
export * from './run-errors.js'
