import { InvalidRequestError, UnknownPeerError } from './errors.js'

/**
 * `who` as a PeerId: itself when it is one of `ids`, else the one id whose display name it
 * is. `noun`, `hint` and `notFound` shape the errors: what these ids are, where to list
 * them, and what to say when none matches.
 */
export function resolvePeer (who: string, ids: Iterable<string>, nameOf: (peerId: string) => string | undefined, place: { noun: string, hint: string, notFound: string }): string {
  const all = [...ids]
  if (all.includes(who)) return who
  const named = all.filter(id => nameOf(id) === who)
  if (named.length === 1) return named[0]
  if (named.length > 1) throw new InvalidRequestError(`${named.length} ${place.noun}s are named '${who}'; give the peer id (see '${place.hint}')`)
  throw new UnknownPeerError(`${place.notFound}; see '${place.hint}'`)
}
