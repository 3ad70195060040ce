/**
 * A core's options (NodeCore, AnnounceCore): the defaults under `options`. A frozen `options` object is merged once and
 * the result shared by every core given it (a simulator hands one to 10^5-10^6 cores; a copy
 * each was ~240 bytes per node for NodeCore, ~90 for AnnounceCore); any other is copied, as it may change after.
 */
export function sharedOptions<T extends object> (defaults: T, merged: WeakMap<object, Readonly<T>>, options: Partial<T> | undefined): Readonly<T> {
  if (options === undefined || !Object.isFrozen(options)) return { ...defaults, ...options }
  let m = merged.get(options)
  if (m === undefined) merged.set(options, (m = Object.freeze({ ...defaults, ...options })))
  return m
}
