import { isRole, MAX_RETENTION_SECONDS, NotAllowedError, type GroupId, type HybridClock, type Role } from '../crdt/index.js'
import type { Discovery } from '../discovery/index.js'
import { InvalidInviteError, InvalidRequestError } from './errors.js'
import { resolvePeer } from './names.js'
import type { GroupMembership } from './group-membership.js'
import type { Group, GroupRegistry } from './groups.js'
import { MENTION_ALL } from './history-view.js'
import type { GroupSummary, InviteOptions, MemberSummary, NetworkSummary } from './node-types.js'
import { safetyNumber } from './safety-number.js'
import type { SyncService } from './sync.js'
import { DEFAULT_INVITE_TTL_MS, groupIdOf, makeInvite, makeJoin, newGroupNonce, remove, rotate, setRetention, setRole, writeCreate, type Me } from './trust/actions.js'
import { auditLines } from './trust/audit.js'
import { decodeInvite, encodeInvite } from './wire/invite.js'

/** How long joining waits for a member to let us in before it answers anyway. */
const JOIN_WAIT_MS = 10_000

export interface GroupAdminComponents {
  groups: GroupRegistry
  me: Me
  clock: HybridClock
  discovery: Pick<Discovery, 'addPeer' | 'peers'>
  sync: Pick<SyncService, 'syncAll' | 'lastSynced'>
  membership: Pick<GroupMembership, 'admission'>
  /** a group this node now holds: watch it, index it, subscribe its topic */
  addGroup: (group: Group) => void
  addrs: () => string[]
  nameOf: (peerId: string) => string | undefined
  connected: () => Set<string>
}

/**
 * A user's actions on groups as a whole: create, invite, join, members and their roles,
 * removal, key rotation and the audit trail. The rules are in crdt/membership.ts; the
 * signed entries are written by trust/actions.ts.
 */
export class GroupAdmin {
  constructor (private readonly components: GroupAdminComponents) {}

  /** Every group this node holds, as `group list` shows it. */
  summaries (): GroupSummary[] {
    const self = this.components.me.peerId
    return this.components.groups.list().map(g => ({
      groupId: g.info.groupId,
      name: this.displayName(g),
      joinedAt: g.info.joinedAt,
      messages: g.doc.size,
      topic: g.topic,
      ...(g.info.dm != null ? { dm: g.info.dm } : {}),
      role: g.info.removed != null ? null : g.doc.membership.role(self),
      members: g.doc.membership.members.size,
      retentionSeconds: g.doc.membership.retentionSeconds,
      ...g.doc.unread(self, [self, MENTION_ALL]),
      ...(g.info.removed != null ? { removed: { by: g.info.removed.by, at: g.info.removed.at } } : {})
    }))
  }

  /** A group's name; a direct message is called by the other person's name. */
  private displayName (g: Group): string {
    if (g.info.dm != null) return this.components.nameOf(g.info.dm) ?? g.info.name
    return g.doc.membership.name ?? g.info.name
  }

  /** `auditDeletes`: message deletions go into the group's audit trail (fixed at creation). */
  async createGroup (name: string, options: { auditDeletes?: boolean } = {}): Promise<{ groupId: GroupId, invite: string }> {
    const { groups, me, clock } = this.components
    const nonce = newGroupNonce()
    const group = await groups.create(groupIdOf(me, nonce), name)
    writeCreate(group.doc, me, group.info.name, nonce, clock.tick(), { auditDeletes: options.auditDeletes === true })
    await group.persisted.flushed()
    this.components.addGroup(group)
    return { groupId: group.info.groupId, invite: this.invite(group.info.groupId) }
  }

  /** A signed invite (owners and admins only), with this node's addresses to dial. */
  invite (groupId: string, options: InviteOptions = {}): string {
    const group = this.components.groups.require(groupId)
    const role = options.role ?? 'member'
    if (!isRole(role) || (role as Role) === 'owner') throw new InvalidRequestError(`an invite grants admin, member or read-only, not ${String(role)}`)
    const ttl = options.ttlMs ?? DEFAULT_INVITE_TTL_MS
    if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new InvalidRequestError('an invite must live a positive number of milliseconds')
    const mine = group.doc.membership.role(this.components.me.peerId)
    if (mine !== 'owner' && mine !== 'admin') throw new NotAllowedError(`only owners and admins invite (this node is ${mine ?? 'not a member'})`)
    if (role === 'admin' && mine !== 'owner') throw new NotAllowedError('only the owner invites admins')
    const name = group.doc.membership.name ?? group.info.name
    const signed = makeInvite(this.components.me, group.info.groupId, name, role, Date.now() + ttl, options.for)
    return encodeInvite({ signed, addrs: this.components.addrs() })
  }

  /**
   * Joins by invite: the group is added with a signed join request, its topic subscribed, and
   * the inviter dialed; the first member that syncs with us checks the request, lets us in
   * and hands us the group keys.
   */
  async joinGroup (inviteText: string, options: { waitMs?: number } = {}): Promise<{ groupId: GroupId, name: string, admitted: boolean }> {
    const { groups, me, clock } = this.components
    const { signed, addrs } = decodeInvite(inviteText)
    if (signed.expires < Date.now()) throw new InvalidInviteError(`the invite expired on ${new Date(signed.expires).toISOString()}; ask for a new one`)
    if (signed.for != null && signed.for !== me.peerId) throw new InvalidInviteError('the invite was made for another peer')
    const { group, isNew } = await groups.join(signed.group, signed.name, makeJoin(me, signed, clock.tick()))
    if (isNew) this.components.addGroup(group)
    if (signed.by !== me.peerId) this.components.discovery.addPeer(signed.by, addrs)
    this.components.sync.syncAll()
    const admitted = await this.components.membership.admission(group, options.waitMs ?? JOIN_WAIT_MS)
    return { groupId: group.info.groupId, name: group.doc.membership.name ?? group.info.name, admitted }
  }

  members (groupId: string): MemberSummary[] {
    const group = this.components.groups.require(groupId)
    const connected = this.components.connected()
    const self = this.components.me.peerId
    return [...group.doc.membership.members.values()].map(m => {
      const name = this.components.nameOf(m.peerId)
      const lastSync = m.peerId === self ? undefined : this.components.sync.lastSynced(m.peerId, group.info.groupId)
      return {
        peerId: m.peerId,
        ...(name != null ? { name } : {}),
        role: m.role,
        since: m.since.ms,
        connected: m.peerId === self || connected.has(m.peerId),
        self: m.peerId === self,
        safetyNumber: safetyNumber(m.peerId),
        ...(lastSync != null ? { lastSync } : {})
      }
    }).sort((a, b) => a.since - b.since)
  }

  /**
   * Who of the members of this node's groups is reachable now, when each was last seen,
   * and when this node last synced each group with each of them: what the UI shows so
   * that a partition is not mistaken for silence. (The UI asks every few seconds: no
   * unread counts or other walks over the histories here.)
   */
  network (): NetworkSummary {
    const self = this.components.me.peerId
    const book = new Map(this.components.discovery.peers().map(p => [p.peerId, p]))
    const people = new Map<string, NetworkSummary['members'][number]>()
    const groups = this.components.groups.list().filter(g => g.info.removed == null && g.doc.membership.role(self) != null).map(g => {
      const members = this.members(g.info.groupId).filter(m => !m.self)
      for (const m of members) {
        if (people.has(m.peerId)) continue
        const peer = book.get(m.peerId)
        people.set(m.peerId, {
          peerId: m.peerId,
          ...(m.name != null ? { name: m.name } : {}),
          connected: m.connected,
          ...(peer?.lastSeen != null ? { lastSeen: peer.lastSeen } : {}),
          ...(peer?.problem != null ? { problem: peer.problem } : {})
        })
      }
      return {
        groupId: g.info.groupId,
        name: this.displayName(g),
        ...(g.info.dm != null ? { dm: g.info.dm } : {}),
        members: members.map(m => ({ peerId: m.peerId, ...(m.lastSync != null ? { lastSync: m.lastSync } : {}) }))
      }
    })
    const members = [...people.values()]
    return { reachable: members.filter(m => m.connected).length, total: members.length, members, groups }
  }

  /** Removes a member and rotates the group key; resolves once the change is on disk. */
  async removeMember (groupId: string, peer: string): Promise<MemberSummary[]> {
    const group = this.components.groups.require(groupId)
    remove(group.doc, this.components.me, this.memberId(group, peer), this.components.clock.tick())
    await group.persisted.flushed()
    return this.members(groupId)
  }

  async setRole (groupId: string, peer: string, role: string): Promise<MemberSummary[]> {
    const group = this.components.groups.require(groupId)
    if (!isRole(role) || role === 'owner') throw new InvalidRequestError(`a role is admin, member or read-only, not '${role}'`)
    setRole(group.doc, this.components.me, this.memberId(group, peer), role, this.components.clock.tick())
    await group.persisted.flushed()
    return this.members(groupId)
  }

  /** Hands every member a fresh group key (owners and admins); later messages use it. */
  async rotateKey (groupId: string): Promise<{ keyId: string }> {
    const group = this.components.groups.require(groupId)
    const entry = rotate(group.doc, this.components.me, this.components.clock.tick())
    await group.persisted.flushed()
    return { keyId: entry.id }
  }

  /** Sets how long the group keeps messages (0: forever); expired ones are erased at once. */
  async setRetention (groupId: string, seconds: number): Promise<{ groupId: string, retentionSeconds: number, erased: number }> {
    const group = this.components.groups.require(groupId)
    if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_RETENTION_SECONDS) throw new InvalidRequestError('a retention is a whole number of seconds, 0 (forever) to 100 years')
    setRetention(group.doc, this.components.me, seconds, this.components.clock.tick())
    const erased = group.doc.eraseExpired()
    await group.persisted.flushed()
    return { groupId: group.info.groupId, retentionSeconds: group.doc.membership.retentionSeconds, erased }
  }

  /** The group's audit trail as JSON lines (see trust/audit.ts). */
  auditExport (groupId: string): string[] {
    const group = this.components.groups.require(groupId)
    const deletes = group.doc.membership.policy.auditDeletes === true ? group.doc.deleteEvents() : []
    return auditLines(group.info.groupId, group.doc.membership, this.components.me, deletes)
  }

  /** A member by PeerId, or by display name when exactly one member has it. */
  private memberId (group: Group, who: string): string {
    return resolvePeer(who, group.doc.membership.members.keys(), this.components.nameOf,
      { noun: 'member', hint: 'outpost group members', notFound: `'${who}' is not a member of ${group.info.groupId}` })
  }
}
