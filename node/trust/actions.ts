import { randomBytes } from 'node:crypto'
import {
  groupIdFor, newEventId, signingBytes, verifyJoin, NotAllowedError,
  type AdmitEntry, type CreateEntry, type GrantEntry, type GroupDoc, type GroupId, type GroupPolicy, type JoinRequest, type RemoveEntry,
  type RetentionEntry, type Role, type RoleEntry, type RotateEntry, type SignedInvite, type Timestamp, type Wraps
} from '../../crdt/index.js'
import { newGroupKey, verifySignature, wrap, type BoxKey } from './keys.js'

/**
 * The membership changes this node makes, as signed log entries in a group document.
 * The rules they must pass are in crdt/membership.ts; every replica checks them again.
 */

export interface Me {
  peerId: string
  box: BoxKey
  sign: (data: Uint8Array) => Uint8Array
}

/** How long an invite stays usable unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000

export function newGroupNonce (): string {
  return randomBytes(16).toString('hex')
}

export function groupIdOf (me: Me, nonce: string): GroupId {
  return groupIdFor(me.peerId, nonce)
}

/** The group's first entry: the creator as owner, and the first group key wrapped to them. */
export function writeCreate (doc: GroupDoc, me: Me, name: string, nonce: string, ts: Timestamp, policy: GroupPolicy = {}): CreateEntry {
  const id = newEventId(me.peerId)
  const wraps = { [me.peerId]: wrap(doc.groupId, id, me.box.publicKey, newGroupKey()) }
  const withPolicy = policy.auditDeletes === true ? { policy } : {}
  return doc.write<CreateEntry>('log', { kind: 'create', id, by: me.peerId, ts, name, nonce, box: me.box.publicKey, wraps, ...withPolicy })
}

/** A direct-message group's first entry: both people members, the key wrapped to both. */
export function writeDmCreate (doc: GroupDoc, me: Me, peer: string, peerBox: string, ts: Timestamp): CreateEntry {
  const id = newEventId(me.peerId)
  const key = newGroupKey()
  const wraps = { [me.peerId]: wrap(doc.groupId, id, me.box.publicKey, key), [peer]: wrap(doc.groupId, id, peerBox, key) }
  return doc.write<CreateEntry>('log', { kind: 'create', id, by: me.peerId, ts, name: 'direct message', nonce: 'dm', box: me.box.publicKey, wraps, dm: { peer, box: peerBox } })
}

export function makeInvite (me: Me, groupId: GroupId, name: string, role: Exclude<Role, 'owner'>, expires: number, forPeer?: string): SignedInvite {
  const unsigned = { v: 2 as const, group: groupId, name, by: me.peerId, role, expires, ...(forPeer != null ? { for: forPeer } : {}), nonce: randomBytes(8).toString('hex') }
  const sig = Buffer.from(me.sign(signingBytes(groupId, 'invite', unsigned))).toString('base64')
  return { ...unsigned, sig }
}

export function makeJoin (me: Me, invite: SignedInvite, ts: Timestamp): JoinRequest {
  const unsigned = { v: 2 as const, group: invite.group, by: me.peerId, ts, box: me.box.publicKey, invite }
  const sig = Buffer.from(me.sign(signingBytes(invite.group, 'join', unsigned))).toString('base64')
  return { ...unsigned, sig }
}

/** Every group key this node holds, wrapped to `box`. */
function wrapsOfHeldKeys (doc: GroupDoc, box: string, except?: Set<string>): Wraps {
  const wraps: Record<string, string> = {}
  for (const record of doc.membership.keys) {
    const key = doc.keyFor(record.keyId)
    if (key != null && !(except?.has(record.keyId) ?? false)) wraps[record.keyId] = wrap(doc.groupId, record.keyId, box, key)
  }
  return wraps
}

/**
 * Lets in a peer that presents a join request: checked here as every replica will check
 * it (signatures, the inviter's role now, expiry by our clock), then written with every
 * key we hold wrapped to the joiner, so it reads the history too. Returns why not, or null.
 */
export function admit (doc: GroupDoc, me: Me, peer: string, join: JoinRequest, ts: Timestamp): string | null {
  const m = doc.membership
  if (m.role(me.peerId) == null) return 'this node is not a member'
  if (join.by !== peer) return 'a join request for someone else'
  if (!verifyJoin(doc.groupId, join, verifySignature)) return 'a join request with a bad signature'
  if (m.role(peer) != null) return null
  const inviterRole = m.role(join.invite.by)
  if (inviterRole !== 'owner' && inviterRole !== 'admin') return 'the invite was not signed by a current owner or admin'
  if (join.invite.role === 'admin' && inviterRole !== 'owner') return 'only the owner invites admins'
  if (ts.ms > join.invite.expires) return 'the invite has expired'
  if (join.invite.for != null && join.invite.for !== peer) return 'the invite was made for someone else'
  doc.write<AdmitEntry>('log', { kind: 'admit', id: newEventId(me.peerId), by: me.peerId, ts, join, wraps: wrapsOfHeldKeys(doc, join.box) })
  return m.role(peer) != null || doc.membership.role(peer) != null ? null : 'the membership log did not accept the admission'
}

export function setRole (doc: GroupDoc, me: Me, target: string, role: Exclude<Role, 'owner'>, ts: Timestamp): RoleEntry {
  if (!doc.membership.mayManage(me.peerId, target, role) || target === me.peerId) {
    throw new NotAllowedError(`${doc.membership.role(me.peerId) ?? 'a non-member'} may not make ${target} ${role}`)
  }
  return doc.write<RoleEntry>('log', { kind: 'role', id: newEventId(me.peerId), by: me.peerId, ts, target, role })
}

/** How long the group keeps messages (owners and admins); 0 keeps them forever. */
export function setRetention (doc: GroupDoc, me: Me, seconds: number, ts: Timestamp): RetentionEntry {
  const role = doc.membership.role(me.peerId)
  if (role !== 'owner' && role !== 'admin') throw new NotAllowedError(`only owners and admins set the retention (this node is ${role ?? 'not a member'})`)
  return doc.write<RetentionEntry>('log', { kind: 'retention', id: newEventId(me.peerId), by: me.peerId, ts, seconds })
}

/** A fresh group key for every current member (owners and admins), e.g. on a schedule. */
export function rotate (doc: GroupDoc, me: Me, ts: Timestamp): RotateEntry {
  const m = doc.membership
  const role = m.role(me.peerId)
  if (role !== 'owner' && role !== 'admin') throw new NotAllowedError(`only owners and admins rotate the key (this node is ${role ?? 'not a member'})`)
  const id = newEventId(me.peerId)
  const key = newGroupKey()
  const wraps: Record<string, string> = {}
  for (const member of m.members.values()) wraps[member.peerId] = wrap(doc.groupId, id, member.box, key)
  return doc.write<RotateEntry>('log', { kind: 'rotate', id, by: me.peerId, ts, wraps })
}

/** Removes a member and hands a fresh group key to everyone else. */
export function remove (doc: GroupDoc, me: Me, target: string, ts: Timestamp): RemoveEntry {
  const m = doc.membership
  if (!m.mayManage(me.peerId, target, null)) throw new NotAllowedError(`${m.role(me.peerId) ?? 'a non-member'} may not remove ${target}`)
  const id = newEventId(me.peerId)
  const key = newGroupKey()
  const wraps: Record<string, string> = {}
  for (const member of m.members.values()) {
    if (member.peerId !== target) wraps[member.peerId] = wrap(doc.groupId, id, member.box, key)
  }
  return doc.write<RemoveEntry>('log', { kind: 'remove', id, by: me.peerId, ts, target, wraps })
}

/**
 * Members who lack a key this node holds (they joined while a removal rotated it, on the
 * other side of a partition) get it in a grant. Keys made before they joined are history
 * they were shown on admission; a grant fills only the gaps.
 */
export function grantMissing (doc: GroupDoc, me: Me, ts: Timestamp): GrantEntry[] {
  const m = doc.membership
  if (m.role(me.peerId) == null) return []
  const written: GrantEntry[] = []
  for (const member of m.members.values()) {
    const missing = new Set<string>()
    for (const record of m.keys) if (!record.wraps.has(member.peerId) && doc.keyFor(record.keyId) != null) missing.add(record.keyId)
    if (missing.size === 0) continue
    const held = new Set(m.keys.map(k => k.keyId).filter(id => !missing.has(id)))
    const wraps = wrapsOfHeldKeys(doc, member.box, held)
    written.push(doc.write<GrantEntry>('log', { kind: 'grant', id: newEventId(me.peerId), by: me.peerId, ts, to: member.peerId, wraps }))
  }
  return written
}
