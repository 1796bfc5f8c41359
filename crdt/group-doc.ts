import * as Y from 'yjs'
import { NoGroupKeyError, NotAllowedError } from './errors.js'
import {
  bodyAad, newEventId, parseLogEntry, parseMessageEvent, signingBytes, MAX_EMOJI_LENGTH,
  type DeleteEvent, type EditEvent, type Entry, type LogEntry, type PinEvent, type ReadEvent, type PostBody, type PostEvent, type ReactEvent, type ReactionBody, type Unsigned, type Verify
} from './entries.js'
import { guardUpdate, guardUpdateBatched, type GuardContext, type GuardVerdict, type MapName, type Rejection, type VerifyBatch } from './guard.js'
import type { Timestamp } from './hlc.js'
import type { GroupId, MessageId } from './ids.js'
import { Membership } from './membership.js'
import { compareMessages, type ChatMessage } from './message.js'
import { MessageIndex } from './message-index.js'
import type { SortedHistory } from './sorted-history.js'
import { changeOrigin, UpdateFeed, type ChangeOrigin, type UpdateListener } from './update-feed.js'

import { VisibleHistory, type MessagesListener } from './visible-history.js'

export type { ChangeOrigin, UpdateListener } from './update-feed.js'
export type { MessagesListener } from './visible-history.js'


/** The keys and ciphers a document needs; node/ provides them (this folder knows no key formats). */
export interface DocCrypto {
  /** this node's PeerId */
  readonly self: string
  verify: Verify
  /** many signatures at once, off the main thread (optional: verify is used one by one without) */
  verifyBatch?: VerifyBatch
  sign: (data: Uint8Array) => Uint8Array
  /** the group key in `wrap` if it was wrapped to this node, else null */
  unwrap: (groupId: GroupId, keyId: string, wrap: string) => Uint8Array | null
  seal: (key: Uint8Array, plain: Uint8Array, aad: Uint8Array) => Uint8Array
  /** null when the ciphertext does not authenticate */
  open: (key: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array | null
}

export interface GroupKey { keyId: string, key: Uint8Array }

export interface ApplyResult {
  /** the update depends on changes this replica has not seen (sync with the sender) */
  missingDependencies: boolean
  rejected: Rejection[]
}

/**
 * A group's history and membership as one Yjs document of signed entries (entries.ts):
 * message events in a `messages` map and the membership log in a `log` map, each written
 * once under its own key (a `Y.Map` stays flat per append where a `Y.Array` does not).
 * Received updates pass guard.ts before they are applied. What members see is derived:
 * the log folded into a Membership, posts opened with the group keys this node holds,
 * edits and deletes applied, and anything the membership does not allow left out.
 */
export class GroupDoc {
  readonly doc: Y.Doc
  private readonly messages: Y.Map<unknown>
  private readonly log: Y.Map<unknown>
  private readonly logEntries = new Map<string, LogEntry>()
  private folded: Membership = new Membership()
  private readonly keys = new Map<string, Uint8Array>()
  private readonly index: MessageIndex
  /** what members see, and who is told when it changes */
  private readonly visible: VisibleHistory
  /** its messages in display order, and by id */
  private readonly history: SortedHistory
  /** every change's bytes, for storage and gossip */
  private readonly updates: UpdateFeed
  /** the batched apply under way (see applyUpdateBatched) */
  private batched: Promise<unknown> = Promise.resolve()
  private readonly membershipListeners = new Set<(m: Membership, origin: ChangeOrigin) => void>()
  private readonly erasedListeners = new Set<(count: number) => void>()
  private invalid = 0
  private changes = 0
  private lastPublishKey: GroupKey | undefined

  constructor (readonly groupId: GroupId, private readonly crypto: DocCrypto) {
    this.doc = new Y.Doc({ gc: true })
    this.messages = this.doc.getMap('messages')
    this.log = this.doc.getMap('log')
    this.index = new MessageIndex({
      groupId,
      membership: () => this.folded,
      key: keyId => this.keys.get(keyId),
      open: crypto.open,
      expiresBefore: () => this.folded.expiresBefore(Date.now())
    })
    this.visible = new VisibleHistory({ view: id => this.index.view(id), viewIds: () => this.index.viewIds() })
    this.history = this.visible.messages
    this.doc.on('afterTransaction', (txn: Y.Transaction) => {
      if (txn.changed.size > 0) this.changes++
      this.onTransaction(txn)
    })
    this.updates = new UpdateFeed(this.doc)
  }

  /**
   * Every change's bytes, from now on: encoded by Yjs, or for a received update that this
   * replica takes whole, the update as it came (applyVerdict).
   */
  onUpdate (listener: UpdateListener): () => void {
    return this.updates.subscribe(listener)
  }

  get membership (): Membership {
    return this.folded
  }

  /** The current group key, if this node holds it. */
  currentKey (): GroupKey | undefined {
    const current = this.folded.currentKey
    const key = current == null ? undefined : this.keys.get(current.keyId)
    return key == null || current == null ? undefined : { keyId: current.keyId, key }
  }

  keyFor (keyId: string): Uint8Array | undefined {
    return this.keys.get(keyId)
  }

  /**
   * The key to seal the last local change with on the wire: the one current before it, so
   * that the remaining members can read a removal that hands them the next key.
   */
  publishKey (): GroupKey | undefined {
    return this.lastPublishKey ?? this.currentKey()
  }

  /** Signs `unsigned` at the place it will occupy and writes it (throws if malformed). */
  write<E extends Entry> (map: MapName, unsigned: Unsigned<E>, key: string = unsigned.id): E {
    const cid = this.doc.clientID
    const placed = { ...unsigned, v: 2, cid, clk: Y.getState(this.doc.store, cid) }
    const sig = Buffer.from(this.crypto.sign(signingBytes(this.groupId, 'entry', placed))).toString('base64')
    const entry = { ...placed, sig } as unknown as E
    if (map === 'messages') parseMessageEvent(entry)
    else parseLogEntry(entry)
    this.lastPublishKey = this.currentKey()
    try {
      this.doc.transact(() => { (map === 'messages' ? this.messages : this.log).set(key, entry) }, 'local')
    } finally {
      this.lastPublishKey = undefined
    }
    return entry
  }

  /** Writes a post sealed with the current group key. */
  post (body: PostBody, ts: Timestamp): ChatMessage {
    const id = newEventId(this.crypto.self)
    this.assertMayPost({ ts, by: this.crypto.self, id })
    const { keyId, sealed } = this.seal(id, body)
    // No need to open what we just sealed.
    this.index.remember(id, body)
    this.write<PostEvent>('messages', { kind: 'post', id, by: this.crypto.self, ts, key: keyId, body: sealed })
    return this.history.get(id) as ChatMessage
  }

  edit (target: MessageId, text: string, name: string, ts: Timestamp): ChatMessage {
    const post = this.index.post(target)
    if (post == null || post.by !== this.crypto.self) throw new NotAllowedError('only the author edits a message')
    const id = newEventId(this.crypto.self)
    this.assertMayPost({ ts, by: this.crypto.self, id })
    const { keyId, sealed } = this.seal(id, { text, name })
    this.index.remember(id, { text, name })
    this.write<EditEvent>('messages', { kind: 'edit', id, by: this.crypto.self, ts, target, key: keyId, body: sealed })
    return this.history.get(target) as ChatMessage
  }

  /** Hides a message: one's own, or anyone's for owners and admins. */
  delete (target: MessageId, ts: Timestamp): ChatMessage | undefined {
    const post = this.index.post(target)
    if (post == null) throw new NotAllowedError(`no message ${target} in this group`)
    const id = newEventId(this.crypto.self)
    const at = { ts, by: this.crypto.self, id }
    if (this.folded.roleAt(this.crypto.self, at) == null) throw new NotAllowedError('this node is not a member of the group')
    if (post.by !== this.crypto.self && !this.folded.canModerateAt(this.crypto.self, at)) throw new NotAllowedError('only the author, an owner or an admin deletes a message')
    this.write<DeleteEvent>('messages', { kind: 'delete', id, by: this.crypto.self, ts, target, targetBy: post.by, targetTs: post.ts })
    this.eraseDeleted()
    return this.history.get(target)
  }

  /**
   * Erases what valid deletes cover and this replica still holds: the posts, with their
   * edits, reactions and pins (their sealed text leaves the document; what stays is the
   * delete, with the post's author and time). Runs after every change that may bring a
   * delete or a deleted post; the erasure is a change like any other and reaches the others.
   */
  eraseDeleted (): number {
    return this.erase(this.index.erasable())
  }

  /**
   * Erases the messages the group's retention has expired (with their edits, reactions
   * and pins). The node runs it at start and then every minute; every node does the same.
   */
  eraseExpired (now = Date.now()): number {
    const cutoff = this.folded.expiresBefore(now)
    return cutoff === 0 ? 0 : this.erase(this.index.expiredKeys(cutoff))
  }

  /** Deletes the still-held entries at `keys` in one local change, and says so. */
  private erase (keys: string[]): number {
    const held = keys.filter(k => this.messages.has(k))
    if (held.length === 0) return 0
    this.doc.transact(() => { for (const key of held) this.messages.delete(key) }, 'local')
    for (const listener of this.erasedListeners) listener(held.length)
    return held.length
  }

  /** Messages that left the view (expired, or no longer readable): ids, for indexes. */
  onRemoved (listener: (ids: MessageId[]) => void): () => void {
    return this.visible.onRemoved(listener)
  }

  /** Called after an erasure (to compact storage, so the erased text leaves the disk too). */
  onErased (listener: (count: number) => void): () => void {
    this.erasedListeners.add(listener)
    return () => { this.erasedListeners.delete(listener) }
  }

  /** Valid delete events, in order (for the audit trail, where the group's policy asks). */
  deleteEvents (): DeleteEvent[] {
    return this.index.deleteEvents()
  }

  /** Toggles this node's reaction `emoji` on a message; returns the message as it is now. */
  react (target: MessageId, emoji: string, ts: Timestamp): ChatMessage {
    if (this.history.get(target) == null) throw new NotAllowedError(`no message ${target} in this group`)
    const trimmed = emoji.trim()
    if (trimmed.length === 0 || trimmed.length > MAX_EMOJI_LENGTH || /\s/.test(trimmed)) throw new NotAllowedError('a reaction is one emoji (or a short word without spaces)')
    const id = newEventId(this.crypto.self)
    if (this.folded.roleAt(this.crypto.self, { ts, by: this.crypto.self, id }) == null) throw new NotAllowedError('this node is not a member of the group')
    const body: ReactionBody = { emoji: trimmed, on: !this.index.reacted(target, this.crypto.self, trimmed) }
    const { keyId, sealed } = this.seal(id, body)
    this.index.remember(id, body)
    this.write<ReactEvent>('messages', { kind: 'react', id, by: this.crypto.self, ts, target, key: keyId, body: sealed })
    return this.history.get(target) as ChatMessage
  }

  /** Pins or unpins a message for the whole group (members who may post). */
  pin (target: MessageId, on: boolean, ts: Timestamp): ChatMessage {
    if (this.history.get(target) == null) throw new NotAllowedError(`no message ${target} in this group`)
    const id = newEventId(this.crypto.self)
    this.assertMayPost({ ts, by: this.crypto.self, id })
    this.write<PinEvent>('messages', { kind: 'pin', id, by: this.crypto.self, ts, target, on })
    return this.history.get(target) as ChatMessage
  }

  /** A message and the posts that reply to it, in display order. */
  thread (id: MessageId): ChatMessage[] {
    const parent = this.history.get(id)
    if (parent == null) return []
    const replies = this.index.replyIds(id).map(r => this.history.get(r as MessageId)).filter((m): m is ChatMessage => m != null)
    return [parent, ...replies.sort(compareMessages)]
  }

  /**
   * Marks the conversation read up to `upTo` (default: the latest message). Written only
   * when it moves this node's receipt forward; returns the receipt's message.
   */
  markRead (upTo: MessageId | undefined, ts: Timestamp): MessageId | undefined {
    const target = upTo != null ? this.history.get(upTo) : this.history.last()
    if (upTo != null && target == null) throw new NotAllowedError(`no message ${upTo} in this group`)
    if (target == null) return undefined
    const current = this.readUpTo(this.crypto.self)
    if (current != null && compareMessages(current, target) >= 0) return current.id
    const id = newEventId(this.crypto.self)
    if (this.folded.roleAt(this.crypto.self, { ts, by: this.crypto.self, id }) == null) throw new NotAllowedError('this node is not a member of the group')
    this.write<ReadEvent>('messages', { kind: 'read', id, by: this.crypto.self, ts, target: target.id })
    return target.id
  }

  /** The message `peer` has read up to (undefined: none, or one not visible here yet). */
  readUpTo (peer: string): ChatMessage | undefined {
    const receipt = this.index.readReceipts().get(peer)
    return receipt == null ? undefined : this.history.get(receipt.target)
  }

  /** Every member's receipt: up to which message, and when. */
  receipts (): Array<{ peerId: string, upTo: MessageId, ts: Timestamp }> {
    return [...this.index.readReceipts()].map(([peerId, r]) => ({ peerId, upTo: r.target, ts: r.ts }))
  }

  /** Messages after `peer`'s receipt that others wrote (and how many of them mention `mentionKeys`). */
  unread (peer: string, mentionKeys: string[] = [peer]): { unread: number, mentions: number } {
    const upTo = this.readUpTo(peer)
    // Read up to a message this node does not show (yet): count nothing rather than all.
    if (upTo == null && this.index.readReceipts().has(peer)) return { unread: 0, mentions: 0 }
    let unread = 0
    let mentions = 0
    // From the receipt on, found by binary search: the cost is the unread messages, not the history.
    for (const m of upTo != null ? this.history.after(upTo) : this.history.all()) {
      if (m.author === peer || m.deleted) continue
      unread++
      if (m.mentions?.some(x => mentionKeys.includes(x)) === true) mentions++
    }
    return { unread, mentions }
  }

  /** Pinned messages, in display order. */
  pinned (): ChatMessage[] {
    return this.history.all().filter(m => m.pinned)
  }

  /** Applies an update received from a peer, after guard.ts has removed what is not allowed. */
  applyUpdate (update: Uint8Array, origin: ChangeOrigin = 'remote'): ApplyResult {
    return this.applyVerdict(guardUpdate(update, this.guardContext()), origin)
  }

  /**
   * applyUpdate for a large update (a sync): its signatures are checked as one batch with
   * the crypto's verifyBatch (off the main thread), one by one where there is none.
   */
  async applyUpdateBatched (update: Uint8Array, origin: ChangeOrigin = 'remote'): Promise<ApplyResult> {
    const verifyBatch = this.crypto.verifyBatch
    if (verifyBatch == null) return this.applyUpdate(update, origin)
    // One at a time: two syncs often bring the same history at once (one per direction, or
    // two peers); the second then finds it held and checks nothing again.
    const run = this.batched.then(async () => this.applyVerdict(await guardUpdateBatched(update, this.guardContext(), verifyBatch), origin))
    this.batched = run.catch(() => {})
    return await run
  }

  private guardContext (): GuardContext {
    return {
      groupId: this.groupId,
      doc: this.doc,
      verify: this.crypto.verify,
      membershipWith: entries => entries.length === 0 ? this.folded : Membership.fold([...this.logEntries.values(), ...entries]),
      isDeleted: target => this.index.isDeleted(target),
      expiresBefore: () => this.folded.expiresBefore(Date.now())
    }
  }

  private applyVerdict (verdict: GuardVerdict, origin: ChangeOrigin): ApplyResult {
    if (verdict.update != null) {
      try {
        this.updates.apply(verdict.update, origin, verdict.starts)
      } catch (err) {
        verdict.rejected.push({ why: `undecodable update: ${(err as Error).message}`, forged: true })
      }
      this.eraseDeleted()
    }
    return {
      missingDependencies: verdict.gap || this.doc.store.pendingStructs != null || this.doc.store.pendingDs != null,
      rejected: verdict.rejected
    }
  }

  stateVector (): Uint8Array {
    return Y.encodeStateVector(this.doc)
  }

  /** Everything this replica has that a replica with `remoteStateVector` lacks. */
  diff (remoteStateVector?: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, remoteStateVector)
  }

  /**
   * How many transactions have changed this document, from any origin (an insertion or a
   * deletion): what sync compares to tell an idle pair of peers from one with news.
   */
  get version (): number {
    return this.changes
  }

  get size (): number {
    return this.history.size
  }

  /** Stored entries that failed validation (from a corrupt store). */
  get invalidEntries (): number {
    return this.invalid + this.index.invalid
  }

  get (id: MessageId): ChatMessage | undefined {
    return this.history.get(id)
  }

  /** The latest `limit` messages (all when omitted), oldest first. */
  latest (limit?: number): ChatMessage[] {
    return this.history.latest(limit)
  }

  /** One page of the history, oldest first: see SortedHistory.page. */
  page (anchor: { before?: MessageId, after?: MessageId, around?: MessageId }, limit: number): ChatMessage[] {
    return this.history.page(anchor, limit)
  }

  onMessages (listener: MessagesListener): () => void {
    return this.visible.onMessages(listener)
  }

  onMembership (listener: (m: Membership, origin: ChangeOrigin) => void): () => void {
    this.membershipListeners.add(listener)
    return () => { this.membershipListeners.delete(listener) }
  }

  destroy (): void {
    this.visible.clearListeners()
    this.updates.close()
    this.membershipListeners.clear()
    this.erasedListeners.clear()
    this.doc.destroy()
  }

  private assertMayPost (at: { ts: Timestamp, by: string, id: string }): void {
    const role = this.folded.role(this.crypto.self)
    if (role == null) throw new NotAllowedError('this node is not a member of the group (yet)')
    if (!this.folded.canPostAt(this.crypto.self, at)) throw new NotAllowedError(`a ${role} member may not post in this group`)
  }

  private seal (id: string, body: PostBody | ReactionBody): { keyId: string, sealed: Uint8Array } {
    const key = this.currentKey()
    if (key == null) throw new NoGroupKeyError('this node does not hold the group key yet; it arrives when a member syncs with it')
    const sealed = this.crypto.seal(key.key, Buffer.from(JSON.stringify(body)), bodyAad(this.groupId, id, key.keyId))
    // A plain Uint8Array: Yjs stores it as binary (a Buffer subclass would not round-trip as one).
    return { keyId: key.keyId, sealed: new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength) }
  }

  private onTransaction (txn: Y.Transaction): void {
    const origin = changeOrigin(txn.origin)
    const logKeys = txn.changed.get(this.log as unknown as Y.AbstractType<Y.YEvent<any>>)
    const messageKeys = txn.changed.get(this.messages as unknown as Y.AbstractType<Y.YEvent<any>>)
    const touched = new Set<string>()
    for (const key of messageKeys ?? []) {
      if (key == null) continue
      for (const id of this.index.add(key, this.messages.get(key))) touched.add(id)
    }
    if (logKeys != null && logKeys.size > 0) {
      for (const key of logKeys) {
        if (key == null) continue
        try {
          this.logEntries.set(key, parseLogEntry(this.log.get(key)))
        } catch {
          this.invalid++
        }
      }
      const earlier = this.folded
      this.folded = Membership.fold(this.logEntries.values())
      this.index.recheckDeletes()
      const keysHeld = this.keys.size
      this.unwrapKeys()
      for (const listener of this.membershipListeners) listener(this.folded, origin)
      // Most log changes only let members in: then no message held before changes, except
      // any that the newcomers wrote or acted on. Deciding every message again costs the
      // whole history, on every member's node, for every join (40 ms at 10,000 messages).
      const newcomers = this.keys.size === keysHeld ? this.folded.newcomersSince(earlier) : null
      if (newcomers == null) {
        this.visible.rebuild(origin)
        return
      }
      for (const id of this.index.concerning(newcomers)) touched.add(id)
    }
    if (touched.size > 0) this.visible.refresh(touched, origin)
  }

  private unwrapKeys (): void {
    for (const record of this.folded.keys) {
      if (this.keys.has(record.keyId)) continue
      const wrap = record.wraps.get(this.crypto.self)
      if (wrap == null) continue
      const key = this.crypto.unwrap(this.groupId, record.keyId, wrap)
      if (key != null) {
        this.keys.set(record.keyId, key)
        this.index.retryUnreadable()
      }
    }
  }
}
