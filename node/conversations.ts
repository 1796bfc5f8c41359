import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { dmGroupId, isMessageId, NotAllowedError, type ChatMessage, type FileRef, type GroupId, type HybridClock, type MessageId } from '../crdt/index.js'
import type { BoxBook } from './box-book.js'
import { InvalidRequestError } from './errors.js'
import { exportedFilePath, exportHtml, exportJson, type ExportedMessage, type ExportFormat, type GroupExport } from './export.js'
import type { GroupMembership } from './group-membership.js'
import type { Group, GroupRegistry } from './groups.js'
import { checkText, historyEntry, mentionsIn } from './history-view.js'
import type { HistoryEntry, MemberSummary } from './node-types.js'
import type { SyncGroup, SyncService } from './sync.js'
import { writeDmCreate, type Me } from './trust/actions.js'

const log = logger('outpost:conversations')

/** Which page of a history: the latest, or next to (or around) one message. */
export interface HistoryPage { limit?: number, before?: string, after?: string, around?: string }

export interface ConversationsComponents {
  groups: GroupRegistry
  me: Me
  clock: HybridClock
  boxes: BoxBook
  sync: Pick<SyncService, 'syncAll' | 'syncWith'>
  membership: Pick<GroupMembership, 'syncGroup'>
  /** this node's display name now */
  name: () => string
  nameOf: (peerId: string) => string | undefined
  /** a peer by id or by a name one known peer has */
  peerIdOf: (who: string) => string
  members: (groupId: string) => MemberSummary[]
  /** a group this node now holds: watch it, index it, subscribe its topic */
  addGroup: (group: Group) => void
  running: () => boolean
}

/**
 * A user's gestures in conversations: messages and replies, edits, deletes, reactions,
 * pins, read receipts, direct messages and exports, each written to the group document
 * and answered as the API shows it (HistoryEntry).
 */
export class Conversations {
  constructor (private readonly components: ConversationsComponents) {}

  /** A message as the API answers it, for this node. */
  entry (m: ChatMessage): HistoryEntry {
    return historyEntry(m, this.components.me.peerId, this.components.nameOf)
  }

  /**
   * The latest `limit` messages of a group (all when omitted), oldest first; or, with
   * `before`, `after` or `around` (a message id), the page next to or around that message
   * (`limit` defaults to 100 there). An anchor this node does not show is a bad request.
   */
  history (groupId: string, options: HistoryPage = {}): HistoryEntry[] {
    const group = this.components.groups.require(groupId)
    if (options.limit != null && (!Number.isSafeInteger(options.limit) || options.limit < 0)) {
      throw new InvalidRequestError('limit must be a non-negative integer')
    }
    const anchors = [options.before, options.after, options.around].filter(a => a != null)
    if (anchors.length === 0) return group.doc.latest(options.limit).map(m => this.entry(m))
    if (anchors.length > 1) throw new InvalidRequestError('give one of before, after and around')
    const anchor = anchors[0] as string
    if (!isMessageId(anchor)) throw new InvalidRequestError(`${anchor} is not a message id`)
    this.withMessage(group, anchor)
    return group.doc.page({ before: options.before as MessageId | undefined, after: options.after as MessageId | undefined, around: options.around as MessageId | undefined }, options.limit ?? 100)
      .map(m => this.entry(m))
  }

  /**
   * Sends a message (with `file`, one that carries a file: see node/files; its text, a
   * caption, may be empty); resolves once it is on disk (acknowledged), published on gossip.
   */
  async send (groupId: string, text: string, options: { replyTo?: string, file?: FileRef } = {}): Promise<HistoryEntry> {
    const group = this.writable(groupId)
    if (options.file == null || text !== '') checkText(text)
    if (options.replyTo != null && (!isMessageId(options.replyTo) || group.doc.get(options.replyTo) == null)) {
      throw new InvalidRequestError(`no message ${options.replyTo} to reply to in group ${groupId}`)
    }
    const mentions = mentionsIn(text, group.doc.membership.members.keys(), this.components.nameOf)
    const message = group.doc.post({
      text,
      name: this.components.name(),
      ...(options.replyTo != null ? { replyTo: options.replyTo as MessageId } : {}),
      ...(mentions.length > 0 ? { mentions } : {}),
      ...(options.file != null ? { file: options.file } : {})
    }, this.components.clock.tick())
    await group.persisted.flushed()
    return this.entry(message)
  }

  /** Replaces the text of one of this node's own messages (the edit is signed and kept). */
  async edit (groupId: string, messageId: string, text: string): Promise<HistoryEntry> {
    checkText(text)
    const group = this.writable(groupId, messageId)
    return await this.written(group, group.doc.edit(messageId as MessageId, text, this.components.name(), this.components.clock.tick()))
  }

  /** Deletes a message: one's own, or anyone's for owners and admins. */
  async deleteMessage (groupId: string, messageId: string): Promise<HistoryEntry> {
    const group = this.writable(groupId, messageId)
    group.doc.delete(messageId as MessageId, this.components.clock.tick())
    return await this.written(group, group.doc.get(messageId as MessageId) as ChatMessage)
  }

  /** Toggles this node's reaction with `emoji` on a message. */
  async react (groupId: string, messageId: string, emoji: string): Promise<HistoryEntry> {
    const group = this.writable(groupId, messageId)
    return await this.written(group, group.doc.react(messageId as MessageId, emoji, this.components.clock.tick()))
  }

  /** Pins (or, with `on: false`, unpins) a message for the group; without `on`, toggles. */
  async pin (groupId: string, messageId: string, on?: boolean): Promise<HistoryEntry> {
    const group = this.writable(groupId, messageId)
    const pinned = on ?? !(group.doc.get(messageId as MessageId)?.pinned ?? false)
    return await this.written(group, group.doc.pin(messageId as MessageId, pinned, this.components.clock.tick()))
  }

  /** A message and its replies, oldest first. */
  thread (groupId: string, messageId: string): HistoryEntry[] {
    const group = this.withMessage(this.components.groups.require(groupId), messageId)
    return group.doc.thread(messageId as MessageId).map(m => this.entry(m))
  }

  pins (groupId: string): HistoryEntry[] {
    return this.components.groups.require(groupId).doc.pinned().map(m => this.entry(m))
  }

  /** Marks a group read up to a message (default: the latest); answers what is left unread. */
  async markRead (groupId: string, messageId?: string): Promise<{ groupId: string, upTo: string | null, unread: number }> {
    const group = this.components.groups.require(groupId)
    if (messageId != null && !isMessageId(messageId)) throw new InvalidRequestError(`${messageId} is not a message id`)
    const upTo = group.doc.markRead(messageId as MessageId | undefined, this.components.clock.tick())
    await group.persisted.flushed()
    return { groupId: group.info.groupId, upTo: upTo ?? null, unread: group.doc.unread(this.components.me.peerId).unread }
  }

  /** Who has read a group up to which message. */
  receipts (groupId: string): Array<{ peerId: string, name?: string, upTo: string, ts: number }> {
    return this.components.groups.require(groupId).doc.receipts().map(r => {
      const name = this.components.nameOf(r.peerId)
      return { peerId: r.peerId, ...(name != null ? { name } : {}), upTo: r.upTo, ts: r.ts.ms }
    })
  }

  /**
   * The group's whole history (with members) in a form people read without Outpost. With
   * `files`, each file this node holds (`held`) is named at its place in `files.dir`, where
   * the caller writes it (the CLI does); the others are marked as not here.
   */
  exportGroup (groupId: string, format: ExportFormat, files?: { dir: string, held: (fileId: string) => boolean }): string {
    const group = this.components.groups.require(groupId)
    const messages: ExportedMessage[] = this.history(groupId).map(m => m.file == null || files == null || !files.held(m.file.id)
      ? m
      : { ...m, file: { ...m.file, path: exportedFilePath(files.dir, m.file) } })
    const thumbnails = new Map<string, string>()
    for (const m of group.doc.latest()) {
      const thumb = m.file?.thumb
      if (thumb != null && m.file != null) thumbnails.set(m.file.id, `data:${thumb.mime};base64,${thumb.data}`)
    }
    const data: GroupExport = {
      format: 'outpost-export/1',
      group: { groupId: group.info.groupId, name: group.doc.membership.name ?? group.info.name },
      exportedAt: new Date().toISOString(),
      exportedBy: { peerId: this.components.me.peerId, name: this.components.name() },
      members: this.components.members(groupId),
      messages
    }
    return format === 'json' ? exportJson(data) : exportHtml(data, thumbnails)
  }

  /**
   * Sends a direct message: the two-member group this node shares with `who` (a PeerId, or a
   * name one known peer has) is opened on first use, its key wrapped to both. The other
   * node takes part as soon as the two meet. Needs the other's box key, learned when the
   * two nodes last met.
   */
  async dm (who: string, text: string): Promise<{ groupId: GroupId, message: HistoryEntry }> {
    const { groups, me, clock } = this.components
    const peer = this.components.peerIdOf(who)
    if (peer === me.peerId) throw new InvalidRequestError('a direct message needs someone else')
    checkText(text)
    const groupId = dmGroupId(me.peerId, peer)
    let group = groups.get(groupId)
    if (group == null || group.doc.membership.creator == null) {
      const box = this.components.boxes.get(peer)
      if (box == null) throw new NotAllowedError(`this node has not met ${who} yet (their key arrives when the two nodes connect); try again once they are connected`)
      group ??= await groups.create(groupId, this.components.nameOf(peer) ?? 'direct message', { dm: peer })
      writeDmCreate(group.doc, me, peer, box, clock.tick())
      await group.persisted.flushed()
      this.components.addGroup(group)
      this.components.sync.syncAll()
    }
    const message = await this.send(groupId, text)
    return { groupId, message }
  }

  /** A peer named the direct-message group we share with it: take part from now on. */
  async takeDirectMessages (peer: string, groupId: GroupId): Promise<SyncGroup | undefined> {
    if (!this.components.running() || groupId !== dmGroupId(this.components.me.peerId, peer)) return undefined
    let group = this.components.groups.get(groupId)
    if (group == null) {
      group = await this.components.groups.create(groupId, this.components.nameOf(peer) ?? 'direct message', { dm: peer })
      this.components.addGroup(group)
      log('direct messages with %s: group %s', peer, groupId)
      // This exchange began before we held the group: another, right after, brings its history.
      this.components.sync.syncWith(peerIdFromString(peer)).catch(() => {})
    }
    return this.components.membership.syncGroup(group)
  }

  /** Refuses a group this node was removed from, saying by whom and when. */
  assertNotRemoved (group: Group): void {
    const removed = group.info.removed
    if (removed == null) return
    throw new NotAllowedError(`this node was removed from the group by ${this.components.nameOf(removed.by) ?? removed.by} on ${new Date(removed.at).toISOString()}`)
  }

  /** Throws unless this node may post in the group now (before a long file import). */
  assertMayPost (groupId: string): void {
    const group = this.writable(groupId)
    const role = group.doc.membership.role(this.components.me.peerId)
    if (role == null) throw new NotAllowedError('this node is not a member of the group (yet)')
    if (role === 'read-only') throw new NotAllowedError('a read-only member may not post in this group')
  }

  /** A group this node may still write to (and, given, one of its messages). */
  private writable (groupId: string, messageId?: string): Group {
    const group = this.components.groups.require(groupId)
    this.assertNotRemoved(group)
    return messageId == null ? group : this.withMessage(group, messageId)
  }

  private withMessage (group: Group, messageId: string): Group {
    if (!isMessageId(messageId) || group.doc.get(messageId) == null) throw new InvalidRequestError(`no message ${messageId} in group ${group.info.groupId}`)
    return group
  }

  /** Once on disk (acknowledged), the message as the API answers it. */
  private async written (group: Group, message: ChatMessage): Promise<HistoryEntry> {
    await group.persisted.flushed()
    return this.entry(message)
  }
}
