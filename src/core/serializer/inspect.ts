/** What the encoder asks of a value it meets, and how values are named in messages. */

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

export function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

/** Whether a prototype chain (below Object.prototype) defines anything but `constructor`. */
export function hasBehaviour(proto: object): boolean {
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const keys = Reflect.ownKeys(p)
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 'constructor') return true
  }
  return false
}

export function constructorName(object: object): string | undefined {
  try {
    const ctor: unknown = (object as { constructor?: unknown }).constructor
    const name: unknown = typeof ctor === 'function' ? ctor.name : undefined
    return typeof name === 'string' && name !== '' ? name : undefined
  } catch {
    return undefined
  }
}

export function article(noun: string): string {
  return /^[AEIOUaeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`
}

/** An error from another realm (a vm context, an iframe), where `instanceof Error` is false. */
export function isForeignError(object: object): boolean {
  return Object.prototype.toString.call(object) === '[object Error]'
}

export function isSharedArrayBuffer(object: object): boolean {
  return typeof SharedArrayBuffer === 'function' && object instanceof SharedArrayBuffer
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null) {
    try {
      const json = JSON.stringify(value)
      if (typeof json === 'string') return json
    } catch {
      // A cycle or a BigInt inside: the tag below is still better than nothing.
    }
    return Object.prototype.toString.call(value)
  }
  // Not the source text of a function.
  if (typeof value === 'function') return `[function ${value.name === '' ? '(anonymous)' : value.name}]`
  return String(value)
}
