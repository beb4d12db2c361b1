/** Tuple types of a task's arguments: what a partial signature (`task.s(...)`) takes and still needs. */

/** A tuple type minus a suffix: the arguments a partial signature still needs, prepended at call time. */
export type MissingArgs<A extends unknown[], Given extends unknown[]> = A extends [...infer M, ...Given] ? M : unknown[]

/** Every suffix of a tuple: the argument lists `task.s(...)` accepts. */
export type ArgSuffix<A extends unknown[]> = number extends A['length']
  ? A
  : A extends [unknown, ...infer T]
    ? A | ArgSuffix<T>
    : A extends [(infer O)?, ...infer T]
      ? A | [] | ArgSuffix<T> | [O?]
      : A
