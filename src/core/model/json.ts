/** The encoded form of user values: JSON trees the serializer (`serializer/`) makes and reads. */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A value in its encoded form: a JSON tree that `JSON.stringify` keeps as is. */
export type Encoded = Json
