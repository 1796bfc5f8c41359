import { multiaddr } from '@multiformats/multiaddr'
import { parseInvite, shown, verifyInvite, type SignedInvite } from '../../crdt/index.js'
import { InvalidInviteError } from '../errors.js'
import { verifySignature } from '../trust/keys.js'

/**
 * An invite is one copy-pasteable string: an owner's or admin's signed permission to join
 * (group id and name, the role granted, an expiry, optionally the one peer it is for) and,
 * unsigned, where to reach the inviter so a joiner can dial it where mDNS does not reach.
 * It carries no key: members hand the group key to the joiner once they check the invite.
 */
export interface Invite {
  signed: SignedInvite
  addrs: string[]
}

export const INVITE_PREFIX = 'outpost-invite:'
const MAX_INVITE_CHARS = 8192
const MAX_ADDRS = 32

export function encodeInvite (invite: Invite): string {
  const body = { v: 2, i: invite.signed, a: invite.addrs.slice(0, MAX_ADDRS) }
  return INVITE_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url')
}

export function decodeInvite (text: string): Invite {
  const fail = (why: string): never => {
    throw new InvalidInviteError(`not a valid Outpost invite (${why}); ask for a new one with 'outpost group invite GROUP'`)
  }
  const trimmed = text.trim()
  if (trimmed.length > MAX_INVITE_CHARS) fail('too long')
  if (!trimmed.startsWith(INVITE_PREFIX)) fail(`it must start with ${INVITE_PREFIX}`)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(Buffer.from(trimmed.slice(INVITE_PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    return fail('garbled')
  }
  if (body == null || typeof body !== 'object') fail('garbled')
  if (body.v !== 2) fail(`unsupported version ${shown(body.v)}`)
  let signed: SignedInvite
  try {
    signed = parseInvite(body.i)
  } catch (err) {
    return fail((err as Error).message)
  }
  if (!verifyInvite(signed, verifySignature)) fail('its signature does not verify')
  if (!Array.isArray(body.a) || body.a.length > MAX_ADDRS) fail('bad addresses')
  const addrs = (body.a as unknown[]).map(a => {
    if (typeof a !== 'string') return fail('bad address')
    try {
      return multiaddr(a).toString()
    } catch {
      return fail(`bad address ${a}`)
    }
  })
  return { signed, addrs }
}
