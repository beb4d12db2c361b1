/** The encoded form of user values: JSON trees the serializer (`serializer/`) makes and reads. */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A value in its encoded form: a JSON tree that `JSON.stringify` keeps as is. */
export type Encoded = Json

/**
 * The payload of an `Error` tag: what survives of an error. `className` is there only when the
 * constructor's name differs from `name`; `data` holds the error's other own enumerable
 * properties (and an `AggregateError`'s `errors`), encoded.
 */
export type EncodedError = {
  name: string
  message: string
  className?: string
  stack?: string
  code?: string | number
  cause?: Encoded
  data?: { [key: string]: Encoded }
}
