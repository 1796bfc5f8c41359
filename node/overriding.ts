/**
 * `target` with the methods in `overrides` put in place of its own; every other property
 * is read from `target`, its methods bound to it, so a class instance keeps working.
 * libp2p takes its connection gater and its upgrader as objects it calls: this is how the
 * node hooks into one of their methods and leaves the rest alone.
 */
export function overriding<T extends object> (target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get (t, prop, receiver) {
      if (Object.hasOwn(overrides, prop)) return (overrides as Record<string | symbol, unknown>)[prop]
      const value = Reflect.get(t, prop, receiver)
      return typeof value === 'function' ? value.bind(t) : value
    }
  })
}
