import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isGroupId, MAX_NAME_LENGTH, type GroupId } from '../../crdt/index.js'
import { InvalidInviteError } from '../errors.js'

/**
 * An invite is one copy-pasteable string carrying what a joiner needs: the group's id and
 * name, and who invited them and where to reach that node, so a joiner can dial it where
 * mDNS does not reach.
 */
export interface Invite {
  groupId: GroupId
  name: string
  inviter: string
  addrs: string[]
}

export const INVITE_PREFIX = 'outpost-invite:'
const MAX_INVITE_CHARS = 8192
const MAX_ADDRS = 32

export function encodeInvite (invite: Invite): string {
  const body = { v: 1, g: invite.groupId, n: invite.name, p: invite.inviter, a: invite.addrs.slice(0, MAX_ADDRS) }
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
  if (body.v !== 1) fail(`unsupported version ${String(body.v)}`)
  if (!isGroupId(body.g)) fail('bad group id')
  if (typeof body.n !== 'string' || body.n.length === 0 || body.n.length > MAX_NAME_LENGTH) fail('bad group name')
  if (typeof body.p !== 'string') fail('bad inviter')
  try {
    peerIdFromString(body.p as string)
  } catch {
    fail('bad inviter')
  }
  if (!Array.isArray(body.a) || body.a.length > MAX_ADDRS) fail('bad addresses')
  const addrs = (body.a as unknown[]).map(a => {
    if (typeof a !== 'string') return fail('bad address')
    try {
      return multiaddr(a).toString()
    } catch {
      return fail(`bad address ${a}`)
    }
  })
  return { groupId: body.g as GroupId, name: body.n as string, inviter: body.p as string, addrs }
}
