import type { ChangeOrigin, GroupId, Role } from '../crdt/index.js'

/** What the node's public methods answer (and so what the local API and CLI print). */

export interface MemberSummary {
  peerId: string
  name?: string
  role: Role
  /** ms since the epoch when the member was let in */
  since: number
  /** whether this node has a connection to the member now */
  connected: boolean
  self: boolean
  safetyNumber: string
  /** ms when this node last completed a sync of this group with the member (since it started) */
  lastSync?: number
}

/** GET /v1/network: the members of this node's groups (not itself) and how they are reached. */
export interface NetworkSummary {
  /** members connected now, and all members (each person once, over every group) */
  reachable: number
  total: number
  members: Array<{ peerId: string, name?: string, connected: boolean, lastSeen?: number, problem?: string }>
  groups: Array<{ groupId: string, name: string, dm?: string, members: Array<{ peerId: string, lastSync?: number }> }>
}

export interface InviteOptions {
  role?: Exclude<Role, 'owner'>
  /** the invite stops working this long from now (default 7 days) */
  ttlMs?: number
  /** only this PeerId may join with it */
  for?: string
}

export interface HistoryEntry {
  id: string
  author: string
  authorName: string
  /** wall-clock ms of the hybrid logical clock */
  ts: number
  /** full hybrid-logical-clock timestamp, for tie-breaking */
  hlc: { ms: number, c: number }
  text: string
  replyTo?: string
  /** PeerIds mentioned with @name, and 'all' for @all */
  mentions?: string[]
  /** whether this node's user is mentioned (by name or @all) */
  mentionsMe: boolean
  edits: number
  deleted: boolean
  /** emoji -> PeerIds that reacted with it */
  reactions: Record<string, string[]>
  pinned: boolean
  /** number of replies (the thread under this message) */
  replies: number
  /** the attached file: fetch it with POST /v1/files/ID/fetch, read it at /v1/files/ID/content */
  file?: FileSummary
}

/** A file as a message shows it (its key stays in the node). */
export interface FileSummary {
  id: string
  name: string
  size: number
  mime: string
  sha256: string
  /** an image's preview, served at /v1/files/ID/thumbnail */
  thumbnail?: { mime: string, width: number, height: number }
}

export interface GroupSummary {
  groupId: string
  name: string
  joinedAt: number
  messages: number
  topic: string
  /** this node's role; null while it waits for a member to let it in, or once removed */
  role: Role | null
  members: number
  /** how long messages are kept, in seconds; 0: forever */
  retentionSeconds: number
  /** a direct-message group: the other person's PeerId (the name is theirs) */
  dm?: string
  /** messages by others after this node's read receipt, and how many of them mention it */
  unread: number
  mentions: number
  /** set once a member told us (with the signed entry) that we were removed */
  removed?: { by: string, at: number }
}

export interface MessageEvent {
  groupId: GroupId
  message: HistoryEntry
  origin: ChangeOrigin
}
