import * as Y from 'yjs'
import { NoGroupKeyError, NotAllowedError } from './errors.js'
import {
  bodyAad, compareEntries, newEventId, parseLogEntry, parseMessageEvent, parsePostBody, signingBytes,
  type DeleteEvent, type EditEvent, type Entry, type LogEntry, type MessageEvent, type PostBody, type PostEvent, type Unsigned, type Verify
} from './entries.js'
import { guardUpdate, type MapName, type Rejection } from './guard.js'
import type { Timestamp } from './hlc.js'
import type { GroupId, MessageId } from './ids.js'
import { Membership } from './membership.js'
import { compareMessages, type ChatMessage } from './message.js'

/** Where a change came from; passed to listeners so the node knows what to publish. */
export type ChangeOrigin = 'local' | 'remote' | 'storage'

export type MessagesListener = (messages: ChatMessage[], origin: ChangeOrigin) => void

/** The keys and ciphers a document needs; node/ provides them (this folder knows no key formats). */
export interface DocCrypto {
  /** this node's PeerId */
  readonly self: string
  verify: Verify
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
  private readonly posts = new Map<string, PostEvent>()
  private readonly edits = new Map<string, EditEvent[]>()
  private readonly deletes = new Map<string, DeleteEvent[]>()
  /** opened bodies of posts and edits (null: not readable with the keys held) */
  private readonly bodies = new Map<string, PostBody | null>()
  /** visible messages in display order, and by id */
  private sorted: ChatMessage[] = []
  private readonly byId = new Map<string, ChatMessage>()
  private readonly listeners = new Set<MessagesListener>()
  private readonly membershipListeners = new Set<(m: Membership, origin: ChangeOrigin) => void>()
  private invalid = 0
  private lastPublishKey: GroupKey | undefined

  constructor (readonly groupId: GroupId, private readonly crypto: DocCrypto) {
    this.doc = new Y.Doc({ gc: true })
    this.messages = this.doc.getMap('messages')
    this.log = this.doc.getMap('log')
    this.doc.on('afterTransaction', (txn: Y.Transaction) => { this.onTransaction(txn) })
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
    const { keyId, sealed } = this.sealBody(id, body)
    // No need to open what we just sealed.
    this.bodies.set(id, body)
    this.write<PostEvent>('messages', { kind: 'post', id, by: this.crypto.self, ts, key: keyId, body: sealed })
    return this.byId.get(id) as ChatMessage
  }

  edit (target: MessageId, text: string, name: string, ts: Timestamp): ChatMessage {
    const post = this.posts.get(target)
    if (post == null || post.by !== this.crypto.self) throw new NotAllowedError('only the author edits a message')
    const id = newEventId(this.crypto.self)
    this.assertMayPost({ ts, by: this.crypto.self, id })
    const { keyId, sealed } = this.sealBody(id, { text, name })
    this.bodies.set(id, { text, name })
    this.write<EditEvent>('messages', { kind: 'edit', id, by: this.crypto.self, ts, target, key: keyId, body: sealed })
    return this.byId.get(target) as ChatMessage
  }

  /** Hides a message: one's own, or anyone's for owners and admins. */
  delete (target: MessageId, ts: Timestamp): ChatMessage | undefined {
    const post = this.posts.get(target)
    if (post == null) throw new NotAllowedError(`no message ${target} in this group`)
    const id = newEventId(this.crypto.self)
    const at = { ts, by: this.crypto.self, id }
    if (this.folded.roleAt(this.crypto.self, at) == null) throw new NotAllowedError('this node is not a member of the group')
    if (post.by !== this.crypto.self && !this.folded.canModerateAt(this.crypto.self, at)) throw new NotAllowedError('only the author, an owner or an admin deletes a message')
    this.write<DeleteEvent>('messages', { kind: 'delete', id, by: this.crypto.self, ts, target })
    return this.byId.get(target)
  }

  /** Valid delete events, in order (for the audit trail, where the group's policy asks). */
  deleteEvents (): DeleteEvent[] {
    return [...this.deletes.values()].flat()
      .filter(d => { const post = this.posts.get(d.target); return this.folded.roleAt(d.by, d) != null && (post == null || d.by === post.by || this.folded.canModerateAt(d.by, d)) })
      .sort(compareEntries)
  }

  /** Applies an update received from a peer, after guard.ts has removed what is not allowed. */
  applyUpdate (update: Uint8Array, origin: ChangeOrigin = 'remote'): ApplyResult {
    const verdict = guardUpdate(update, {
      groupId: this.groupId,
      doc: this.doc,
      verify: this.crypto.verify,
      membershipWith: entries => entries.length === 0 ? this.folded : Membership.fold([...this.logEntries.values(), ...entries])
    })
    if (verdict.update != null) {
      try {
        Y.applyUpdate(this.doc, verdict.update, origin)
      } catch (err) {
        verdict.rejected.push({ why: `undecodable update: ${(err as Error).message}`, forged: true })
      }
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

  /** Every stored membership entry (signed), for the audit trail. */
  logEntryList (): LogEntry[] {
    return [...this.logEntries.values()].sort(compareEntries)
  }

  get size (): number {
    return this.sorted.length
  }

  /** Stored entries that failed validation (from a corrupt store). */
  get invalidEntries (): number {
    return this.invalid
  }

  get (id: MessageId): ChatMessage | undefined {
    return this.byId.get(id)
  }

  /** The latest `limit` messages (all when omitted), oldest first. */
  latest (limit?: number): ChatMessage[] {
    return limit === undefined ? this.sorted.slice() : this.sorted.slice(Math.max(0, this.sorted.length - limit))
  }

  onMessages (listener: MessagesListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  onMembership (listener: (m: Membership, origin: ChangeOrigin) => void): () => void {
    this.membershipListeners.add(listener)
    return () => { this.membershipListeners.delete(listener) }
  }

  destroy (): void {
    this.listeners.clear()
    this.membershipListeners.clear()
    this.doc.destroy()
  }

  private assertMayPost (at: { ts: Timestamp, by: string, id: string }): void {
    const role = this.folded.role(this.crypto.self)
    if (role == null) throw new NotAllowedError('this node is not a member of the group (yet)')
    if (!this.folded.canPostAt(this.crypto.self, at)) throw new NotAllowedError(`a ${role} member may not post in this group`)
  }

  private sealBody (id: string, body: PostBody): { keyId: string, sealed: Uint8Array } {
    const key = this.currentKey()
    if (key == null) throw new NoGroupKeyError('this node does not hold the group key yet; it arrives when a member syncs with it')
    const sealed = this.crypto.seal(key.key, Buffer.from(JSON.stringify(body)), bodyAad(this.groupId, id, key.keyId))
    // A plain Uint8Array: Yjs stores it as binary (a Buffer subclass would not round-trip as one).
    return { keyId: key.keyId, sealed: new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength) }
  }

  private onTransaction (txn: Y.Transaction): void {
    const origin: ChangeOrigin = txn.origin === 'local' ? 'local' : txn.origin === 'storage' ? 'storage' : 'remote'
    const logKeys = txn.changed.get(this.log as unknown as Y.AbstractType<Y.YEvent<any>>)
    const messageKeys = txn.changed.get(this.messages as unknown as Y.AbstractType<Y.YEvent<any>>)
    const touched = new Set<string>()
    for (const key of messageKeys ?? []) {
      if (key == null) continue
      const event = this.indexEvent(this.messages.get(key))
      if (event != null) touched.add(event.kind === 'post' ? event.id : event.target)
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
      this.folded = Membership.fold(this.logEntries.values())
      this.unwrapKeys()
      for (const listener of this.membershipListeners) listener(this.folded, origin)
      this.rebuild(origin)
      return
    }
    if (touched.size === 0) return
    const changed: ChatMessage[] = []
    for (const id of touched) {
      const next = this.view(id)
      const previous = this.byId.get(id)
      if (previous != null) this.unplace(previous)
      if (next != null) {
        this.place(next)
        changed.push(next)
      }
    }
    this.emit(changed, origin)
  }

  private indexEvent (value: unknown): MessageEvent | null {
    let event: MessageEvent
    try {
      event = parseMessageEvent(value)
    } catch {
      this.invalid++
      return null
    }
    if (event.kind === 'post') {
      this.posts.set(event.id, event)
    } else {
      const index = event.kind === 'edit' ? this.edits : this.deletes
      const list = (index as Map<string, MessageEvent[]>).get(event.target) ?? []
      list.push(event)
      ;(index as Map<string, MessageEvent[]>).set(event.target, list)
    }
    return event
  }

  private unwrapKeys (): void {
    for (const record of this.folded.keys) {
      if (this.keys.has(record.keyId)) continue
      const wrap = record.wraps.get(this.crypto.self)
      if (wrap == null) continue
      const key = this.crypto.unwrap(this.groupId, record.keyId, wrap)
      if (key != null) {
        this.keys.set(record.keyId, key)
        // Bodies that could not be opened before may open now.
        for (const [id, body] of this.bodies) if (body === null) this.bodies.delete(id)
      }
    }
  }

  private body (event: PostEvent | EditEvent): PostBody | null {
    const cached = this.bodies.get(event.id)
    if (cached !== undefined) return cached
    const key = this.keys.get(event.key)
    let body: PostBody | null = null
    if (key != null) {
      const plain = this.crypto.open(key, event.body, bodyAad(this.groupId, event.id, event.key))
      try {
        body = plain == null ? null : parsePostBody(plain)
      } catch {
        body = null
      }
      if (plain == null || body == null) this.invalid++
    }
    this.bodies.set(event.id, body)
    return body
  }

  /** A post as members see it now, or null when it is not readable or not allowed. */
  private view (id: string): ChatMessage | null {
    const post = this.posts.get(id)
    if (post == null || !this.folded.canPostAt(post.by, post)) return null
    const body = this.body(post)
    if (body == null) return null
    let text = body.text
    let edits = 0
    const ownEdits = (this.edits.get(id) ?? []).filter(e => e.by === post.by && this.folded.canPostAt(e.by, e)).sort(compareEntries)
    for (const e of ownEdits) {
      const edited = this.body(e)
      if (edited == null) continue
      text = edited.text
      edits++
    }
    const deleted = (this.deletes.get(id) ?? []).some(d => this.folded.roleAt(d.by, d) != null && (d.by === post.by || this.folded.canModerateAt(d.by, d)))
    return {
      id: post.id as MessageId,
      author: post.by,
      authorName: body.name,
      ts: post.ts,
      kind: 'text',
      text: deleted ? '' : text,
      ...(body.replyTo != null ? { replyTo: body.replyTo } : {}),
      ...(body.mentions != null ? { mentions: body.mentions } : {}),
      edits,
      deleted
    }
  }

  /** Recomputes every message (after a membership change) and reports what changed. */
  private rebuild (origin: ChangeOrigin): void {
    const previous = new Map(this.byId)
    this.byId.clear()
    const list: ChatMessage[] = []
    for (const id of this.posts.keys()) {
      const message = this.view(id)
      if (message == null) continue
      list.push(message)
      this.byId.set(id, message)
    }
    list.sort(compareMessages)
    this.sorted = list
    const changed = list.filter(m => {
      const before = previous.get(m.id)
      return before == null || before.text !== m.text || before.edits !== m.edits || before.deleted !== m.deleted
    })
    this.emit(changed, origin)
  }

  private emit (changed: ChatMessage[], origin: ChangeOrigin): void {
    if (changed.length === 0 || this.listeners.size === 0) return
    changed.sort(compareMessages)
    for (const listener of this.listeners) listener(changed, origin)
  }

  private unplace (message: ChatMessage): void {
    this.byId.delete(message.id)
    const at = this.indexOf(message)
    if (this.sorted[at]?.id === message.id) this.sorted.splice(at, 1)
  }

  /** Keeps the sorted list current without a full re-sort (most arrivals are the newest). */
  private place (message: ChatMessage): void {
    this.byId.set(message.id, message)
    const list = this.sorted
    if (list.length === 0 || compareMessages(list[list.length - 1], message) < 0) {
      list.push(message)
      return
    }
    list.splice(this.indexOf(message), 0, message)
  }

  /** First index whose message sorts at or after `message` (binary search). */
  private indexOf (message: ChatMessage): number {
    const list = this.sorted
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareMessages(list[mid], message) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
