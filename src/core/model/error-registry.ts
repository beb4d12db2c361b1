/**
 * Which class an error arrives as when it is decoded (results, worker and port boundaries): a
 * registry by name, holding JavaScript's built-in errors and celeriac's own from the start.
 */
import * as celeriacErrors from './errors.js'

/**
 * Any constructor of an Error.
 *
 * @example
 * app.task('web.fetch', { autoretryFor: [TypeError, RangeError] }, fetchPage) // each an ErrorClass
 */
export type ErrorClass = abstract new (...args: never[]) => Error

const errorClasses = new Map<string, ErrorClass>()

/**
 * Makes errors of `cls` arrive as instances of `cls` wherever they are decoded (results, worker
 * boundaries), matched by the class's name: the `name` its prototype sets, as celeriac's own
 * errors and the built-ins do (which survives a minifier), else the constructor's name.
 * celeriac's own errors and JavaScript's built-in errors are registered already; classes named in
 * a task's `autoretryFor` are registered by `app.task`.
 *
 * @example
 * class PaymentDeclined extends Error {
 *   static {
 *     PaymentDeclined.prototype.name = 'PaymentDeclined'
 *   }
 * }
 * registerErrorClass(PaymentDeclined)
 */
export function registerErrorClass(cls: ErrorClass): void {
  errorClasses.set(prototypeName(cls.prototype as object) ?? cls.name, cls)
}

/**
 * The `name` a prototype sets on its own, as a plain string value (not one it inherits, nor an
 * accessor such as DOMException's, which throws on the prototype itself): a class's name that a
 * minifier leaves alone.
 */
export function prototypeName(proto: object): string | undefined {
  const name: unknown = Object.getOwnPropertyDescriptor(proto, 'name')?.value
  return typeof name === 'string' ? name : undefined
}

/** The class registered under `name`, if any. */
export function errorClassByName(name: string): ErrorClass | undefined {
  return errorClasses.get(name)
}

// JavaScript's own, and every class errors.ts exports (it exports nothing else, and re-exports all
// of the error files it gathers), so a new one is registered by being written in one of them.
for (const cls of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) registerErrorClass(cls)
for (const cls of Object.values(celeriacErrors)) registerErrorClass(cls)
