import { compareEntries, type GroupPolicy, type LogEntry, type RemoveEntry, type Role } from './entries.js'
import type { Timestamp } from './hlc.js'

/** Where an event sits in the one order every replica uses. */
export interface Position { ts: Timestamp, by: string, id: string }

export interface Member {
  peerId: string
  role: Role
  /** base64 X25519 key that group keys are wrapped to */
  box: string
  /** when this member was let in (or created the group) */
  since: Timestamp
}

export interface GroupKeyRecord {
  keyId: string
  /** the entry that created the key */
  createdBy: string
  ts: Timestamp
  /** member PeerId → the key wrapped to that member */
  wraps: Map<string, string>
}

const MANAGERS: ReadonlySet<Role | null> = new Set(['owner', 'admin'])
const WRITERS: ReadonlySet<Role | null> = new Set(['owner', 'admin', 'member'])

/**
 * A group's membership as every replica computes it: the valid log entries folded in one
 * order, (timestamp, author, id). Each entry is judged against the state the entries before
 * it produced, so concurrent conflicting changes resolve the same way everywhere: the one
 * that sorts first wins, and a later one whose author lost the right to make it is ignored.
 *
 * Rules: the creator is the only owner. Owners and admins remove members and change roles;
 * only the owner makes, unmakes or removes admins. Any member may admit a joiner whose
 * invite was signed by an owner or admin who still holds that role and has not expired.
 * A removed peer comes back only with an invite made for it. Owner, admin and member may
 * post; read-only may not. Removing a member (or leaving) rotates the group key.
 */
export class Membership {
  name: string | null = null
  creator: string | null = null
  createdAt: Timestamp | null = null
  policy: GroupPolicy = {}
  /** in a direct-message group: the other person than the creator */
  dm: string | null = null
  /** how long messages are kept, in seconds; 0: forever */
  retentionSeconds = 0
  readonly members = new Map<string, Member>()
  /** group keys in the order they were created; the last is the current one */
  readonly keys: GroupKeyRecord[] = []
  /** the valid entries, in fold order */
  readonly valid: LogEntry[] = []
  /** entries that were signed correctly but not allowed when they came */
  readonly ignored: Array<{ entry: LogEntry, why: string }> = []
  private readonly timelines = new Map<string, Array<{ at: Position, role: Role | null }>>()
  /** removed peers (not re-admitted since), with the entry that removed them */
  private readonly removed = new Map<string, RemoveEntry>()
  private readonly keyById = new Map<string, GroupKeyRecord>()

  /** Folds signature-checked entries; the result is the same for the same set in any order. */
  static fold (entries: Iterable<LogEntry>): Membership {
    const m = new Membership()
    const sorted = [...entries].sort(compareEntries)
    const seen = new Set<string>()
    for (const entry of sorted) {
      // The same entry may be written by more than one replica (under different keys).
      if (seen.has(entry.id)) continue
      seen.add(entry.id)
      const why = m.apply(entry)
      if (why == null) m.valid.push(entry)
      else m.ignored.push({ entry, why })
    }
    return m
  }

  get currentKey (): GroupKeyRecord | undefined {
    return this.keys[this.keys.length - 1]
  }

  key (keyId: string): GroupKeyRecord | undefined {
    return this.keyById.get(keyId)
  }

  get head (): string | undefined {
    return this.valid[this.valid.length - 1]?.id
  }

  /** The entry that removed `peerId`, if it is removed now. */
  removal (peerId: string): RemoveEntry | undefined {
    return this.members.has(peerId) ? undefined : this.removed.get(peerId)
  }

  role (peerId: string): Role | null {
    return this.members.get(peerId)?.role ?? null
  }

  /** The role `peerId` held just before the event at `at` (null: not a member then). */
  roleAt (peerId: string, at: Position): Role | null {
    const timeline = this.timelines.get(peerId)
    if (timeline == null) return null
    let role: Role | null = null
    for (const step of timeline) {
      if (compareEntries(step.at, at) >= 0) break
      role = step.role
    }
    return role
  }

  canPostAt (peerId: string, at: Position): boolean {
    return WRITERS.has(this.roleAt(peerId, at))
  }

  canModerateAt (peerId: string, at: Position): boolean {
    return MANAGERS.has(this.roleAt(peerId, at))
  }

  /**
   * The peers that have a role history here and had none in `earlier`, when everything
   * else that decides which messages are shown is as it was: every peer `earlier` knew has
   * the same role history, and the retention is the same. Null when anything of that
   * changed. (Letting new members in changes nothing else; a removal, a role change or a
   * fold that came out differently does.)
   */
  newcomersSince (earlier: Membership): Set<string> | null {
    if (earlier.retentionSeconds !== this.retentionSeconds) return null
    for (const [peer, was] of earlier.timelines) {
      const now = this.timelines.get(peer)
      if (now == null || now.length !== was.length) return null
      for (let i = 0; i < was.length; i++) {
        if (now[i].role !== was[i].role || now[i].at.id !== was[i].at.id) return null
      }
    }
    const newcomers = new Set<string>()
    for (const peer of this.timelines.keys()) if (!earlier.timelines.has(peer)) newcomers.add(peer)
    return newcomers
  }

  /** Messages stamped before this (ms) are expired at `now`; 0 when nothing expires. */
  expiresBefore (now: number): number {
    return this.retentionSeconds > 0 ? now - this.retentionSeconds * 1000 : 0
  }

  /** Whether `by` may change `target`'s role to `to` (null: remove) now. */
  mayManage (by: string, target: string, to: Role | null): boolean {
    const mine = this.role(by)
    const theirs = this.role(target)
    if (theirs == null || theirs === 'owner') return false
    if (by === target && to === null) return true
    if (!MANAGERS.has(mine)) return false
    if ((theirs === 'admin' || to === 'admin') && mine !== 'owner') return false
    return true
  }

  private setRole (peerId: string, at: Position, role: Role | null): void {
    let timeline = this.timelines.get(peerId)
    if (timeline == null) this.timelines.set(peerId, timeline = [])
    timeline.push({ at, role })
  }

  private addKey (entry: LogEntry, wraps: Readonly<Record<string, string>>): void {
    const record: GroupKeyRecord = { keyId: entry.id, createdBy: entry.by, ts: entry.ts, wraps: new Map(Object.entries(wraps)) }
    this.keys.push(record)
    this.keyById.set(entry.id, record)
  }

  private grant (to: string, wraps: Readonly<Record<string, string>>): void {
    for (const [keyId, wrap] of Object.entries(wraps)) {
      const key = this.keyById.get(keyId)
      if (key != null && !key.wraps.has(to)) key.wraps.set(to, wrap)
    }
  }

  /** Applies one entry; returns why it is not allowed, or null. */
  private apply (e: LogEntry): string | null {
    if (e.kind === 'create') {
      if (this.creator != null) {
        // Both people may open their direct-message group at once: the second create only
        // adds its key (messages sealed with it stay readable).
        if (this.dm != null && e.dm != null && e.by === this.dm && e.dm.peer === this.creator) {
          this.addKey(e, e.wraps)
          return null
        }
        return 'the group already exists'
      }
      this.creator = e.by
      this.name = e.name
      this.createdAt = e.ts
      this.policy = e.policy ?? {}
      this.members.set(e.by, { peerId: e.by, role: e.dm != null ? 'member' : 'owner', box: e.box, since: e.ts })
      this.setRole(e.by, e, e.dm != null ? 'member' : 'owner')
      if (e.dm != null) {
        // Two equals: both members, neither can add, remove or promote anyone.
        this.dm = e.dm.peer
        this.members.set(e.dm.peer, { peerId: e.dm.peer, role: 'member', box: e.dm.box, since: e.ts })
        this.setRole(e.dm.peer, e, 'member')
      }
      this.addKey(e, e.wraps)
      return null
    }
    if (this.creator == null) return 'before the group was created'
    const authorRole = this.role(e.by)
    switch (e.kind) {
      case 'admit': {
        if (authorRole == null) return 'admitted by a non-member'
        const { join } = e
        const invite = join.invite
        if (this.members.has(join.by)) {
          this.grant(join.by, e.wraps)
          return null
        }
        const inviterRole = this.role(invite.by)
        if (!MANAGERS.has(inviterRole)) return 'the invite was not signed by a current owner or admin'
        if (invite.role === 'admin' && inviterRole !== 'owner') return 'only the owner invites admins'
        if (e.ts.ms > invite.expires) return 'the invite had expired'
        if (invite.for != null && invite.for !== join.by) return 'the invite was made for someone else'
        if (this.removed.has(join.by) && invite.for !== join.by) return 'a removed member needs an invite made for them'
        this.members.set(join.by, { peerId: join.by, role: invite.role, box: join.box, since: e.ts })
        this.removed.delete(join.by)
        this.setRole(join.by, e, invite.role)
        this.grant(join.by, e.wraps)
        return null
      }
      case 'role':
        if (!this.mayManage(e.by, e.target, e.role) || e.by === e.target) return 'not allowed to change that role'
        this.members.set(e.target, { ...(this.members.get(e.target) as Member), role: e.role })
        this.setRole(e.target, e, e.role)
        return null
      case 'remove':
        if (!this.mayManage(e.by, e.target, null)) return 'not allowed to remove that member'
        this.members.delete(e.target)
        this.removed.set(e.target, e)
        this.setRole(e.target, e, null)
        this.addKey(e, e.wraps)
        return null
      case 'rotate':
        if (!MANAGERS.has(authorRole)) return 'only owners and admins rotate the key'
        this.addKey(e, e.wraps)
        return null
      case 'retention':
        if (!MANAGERS.has(authorRole)) return 'only owners and admins set the retention'
        this.retentionSeconds = e.seconds
        return null
      case 'grant':
        if (authorRole == null) return 'granted by a non-member'
        if (!this.members.has(e.to)) return 'granted to a non-member'
        this.grant(e.to, e.wraps)
        return null
    }
  }
}
