import {
  bodyAad, compareEntries, isOwnId, parseMessageEvent, parsePostBody, parseReactionBody,
  type DeleteEvent, type EditEvent, type MessageEvent, type PinEvent, type PostBody, type PostEvent, type ReactEvent, type ReactionBody, type ReadEvent
} from './entries.js'
import type { GroupId, MessageId } from './ids.js'
import type { Membership } from './membership.js'
import type { ChatMessage } from './message.js'

/** What the index needs from its document. */
export interface MessageIndexContext {
  groupId: GroupId
  membership: () => Membership
  key: (keyId: string) => Uint8Array | undefined
  /** posts stamped before this (ms) are expired and not shown (0: none) */
  expiresBefore: () => number
  open: (key: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array | null
}

/**
 * The message events of one group, indexed by the message they concern, and the view
 * members see: a post opened with the group key, the author's latest edit, delete,
 * reactions (latest per person and emoji), pin (latest per message), and reply count.
 * Events the membership does not allow are left out of the view.
 */
export class MessageIndex {
  private readonly posts = new Map<string, PostEvent>()
  private readonly edits = new Map<string, EditEvent[]>()
  private readonly deletes = new Map<string, DeleteEvent[]>()
  private readonly reactions = new Map<string, ReactEvent[]>()
  private readonly pins = new Map<string, PinEvent[]>()
  /** opened bodies (null: not readable with the keys held) */
  private readonly bodies = new Map<string, PostBody | ReactionBody | null>()
  /** every indexed event by its key, to know what an erasure removes */
  private readonly events = new Map<string, MessageEvent>()
  /** messages a delete may now cover: checked by erasable(), so that it does not scan every delete each time */
  private readonly toErase = new Set<string>()
  /** member -> their latest read receipt */
  private readonly reads = new Map<string, ReadEvent>()
  /** parent id -> ids of the posts that reply to it */
  private readonly replies = new Map<string, Set<string>>()
  invalid = 0

  constructor (private readonly ctx: MessageIndexContext) {}

  /**
   * Indexes a stored value; returns the ids of the messages whose view it changes (empty
   * when the value is not a valid event).
   */
  add (key: string, value: unknown): string[] {
    if (value === undefined) return this.erase(key)
    let event: MessageEvent
    try {
      event = parseMessageEvent(value)
    } catch {
      this.invalid++
      return []
    }
    this.events.set(key, event)
    if (event.kind === 'delete' || this.deletes.has(event.kind === 'post' ? event.id : 'target' in event ? event.target : '')) {
      this.toErase.add(event.kind === 'post' ? event.id : event.target)
    }
    switch (event.kind) {
      case 'post': {
        this.posts.set(event.id, event)
        const parent = this.postBody(event)?.replyTo
        if (parent == null) return [event.id]
        this.addReply(parent, event.id)
        return [event.id, parent]
      }
      case 'edit': push(this.edits, event); break
      case 'delete': push(this.deletes, event); break
      case 'react': push(this.reactions, event); break
      case 'pin': push(this.pins, event); break
      case 'read': {
        const before = this.reads.get(event.by)
        if (before == null || compareEntries(before, event) < 0) this.reads.set(event.by, event)
        return []
      }
    }
    return [event.target]
  }

  /** The event at `key` was erased: forget it, and its opened body. */
  private erase (key: string): string[] {
    const event = this.events.get(key)
    if (event == null) return []
    this.events.delete(key)
    this.bodies.delete(event.id)
    if (event.kind === 'post') {
      this.posts.delete(event.id)
      return [event.id]
    }
    const index = event.kind === 'edit' ? this.edits : event.kind === 'react' ? this.reactions : event.kind === 'pin' ? this.pins : null
    if (index != null) {
      const list = (index as Map<string, MessageEvent[]>).get(event.target)?.filter(e => e.id !== event.id)
      if (list == null || list.length === 0) index.delete(event.target)
      else (index as Map<string, MessageEvent[]>).set(event.target, list)
    }
    return 'target' in event ? [event.target] : []
  }

  /** Whether a valid delete covers `target` (its author, or an owner or admin then). */
  isDeleted (target: string): boolean {
    const m = this.ctx.membership()
    return (this.deletes.get(target) ?? []).some(d => m.roleAt(d.by, d) != null && (isOwnId(target, d.by) || m.canModerateAt(d.by, d)))
  }

  /** The membership changed: a delete not allowed before may be now. */
  recheckDeletes (): void {
    for (const target of this.deletes.keys()) this.toErase.add(target)
  }

  /** Keys of events a valid delete says to erase and that are still held. */
  erasable (): string[] {
    const keys: string[] = []
    for (const target of this.toErase) {
      if (!this.isDeleted(target)) continue
      this.toErase.delete(target)
      this.keysOf(target, keys)
    }
    return keys
  }

  /** Keys of posts stamped before `cutoff`, with their edits, reactions and pins. */
  expiredKeys (cutoff: number): string[] {
    const keys: string[] = []
    for (const post of this.posts.values()) {
      if (post.ts.ms < cutoff) this.keysOf(post.id, keys)
    }
    return keys
  }

  /** What erasing a message erases: the post, and its edits, reactions and pins. */
  private keysOf (target: string, into: string[]): void {
    if (this.posts.has(target)) into.push(target)
    for (const index of [this.edits, this.reactions, this.pins] as Array<Map<string, MessageEvent[]>>) {
      for (const e of index.get(target) ?? []) into.push(e.id)
    }
  }

  /** The messages that events by any of `authors` concern (their posts, and the targets of the rest). */
  concerning (authors: ReadonlySet<string>): string[] {
    if (authors.size === 0) return []
    const ids = new Set<string>()
    for (const event of this.events.values()) {
      if (authors.has(event.by)) ids.add(event.kind === 'post' ? event.id : event.target)
    }
    return [...ids]
  }

  /** Every message with something to show: posts, and deleted posts' places. */
  viewIds (): string[] {
    return [...new Set([...this.posts.keys(), ...[...this.deletes.keys()].filter(t => !this.posts.has(t))])]
  }

  /** Remembers a body this node just sealed, so it is not opened again. */
  remember (id: string, body: PostBody | ReactionBody): void {
    this.bodies.set(id, body)
  }

  /** New keys arrived: bodies that could not be opened may open now, and say what they reply to. */
  retryUnreadable (): void {
    let retried = false
    for (const [id, body] of this.bodies) {
      if (body !== null) continue
      this.bodies.delete(id)
      retried = true
    }
    if (!retried) return
    for (const post of this.posts.values()) {
      const parent = this.postBody(post)?.replyTo
      if (parent != null) this.addReply(parent, post.id)
    }
  }

  post (id: string): PostEvent | undefined {
    return this.posts.get(id)
  }

  replyIds (parent: string): string[] {
    return [...this.replies.get(parent) ?? []]
  }

  /** Whether `by`'s reaction `emoji` on `target` is on now. */
  reacted (target: string, by: string, emoji: string): boolean {
    return this.reactionsOf(target)[emoji]?.includes(by) ?? false
  }

  /** Each member's latest read receipt (the membership decides who counts). */
  readReceipts (): Map<string, ReadEvent> {
    const m = this.ctx.membership()
    return new Map([...this.reads].filter(([by, r]) => m.roleAt(by, r) != null))
  }

  /** Valid delete events, in order. */
  deleteEvents (): DeleteEvent[] {
    const m = this.ctx.membership()
    return [...this.deletes.values()].flat()
      .filter(d => { const post = this.posts.get(d.target); return m.roleAt(d.by, d) != null && (post == null || d.by === post.by || m.canModerateAt(d.by, d)) })
      .sort(compareEntries)
  }

  /** A post as members see it now, or null when it is not readable or not allowed. */
  view (id: string): ChatMessage | null {
    const m = this.ctx.membership()
    const post = this.posts.get(id)
    const cutoff = this.ctx.expiresBefore()
    if (post == null) {
      const tomb = this.tombstone(id)
      return tomb != null && tomb.ts.ms < cutoff ? null : tomb
    }
    if (post.ts.ms < cutoff || !m.canPostAt(post.by, post)) return null
    const body = this.postBody(post)
    if (body == null) return null
    let text = body.text
    let edits = 0
    const ownEdits = (this.edits.get(id) ?? []).filter(e => e.by === post.by && m.canPostAt(e.by, e)).sort(compareEntries)
    for (const e of ownEdits) {
      const edited = this.postBody(e)
      if (edited == null) continue
      text = edited.text
      edits++
    }
    const deleted = (this.deletes.get(id) ?? []).some(d => m.roleAt(d.by, d) != null && (d.by === post.by || m.canModerateAt(d.by, d)))
    const pin = (this.pins.get(id) ?? []).filter(p => m.canPostAt(p.by, p)).sort(compareEntries).at(-1)
    return {
      id: post.id as MessageId,
      author: post.by,
      authorName: body.name,
      ts: post.ts,
      kind: body.file != null ? 'file' : 'text',
      text: deleted ? '' : text,
      ...(body.file != null && !deleted ? { file: body.file } : {}),
      ...(body.replyTo != null ? { replyTo: body.replyTo } : {}),
      ...(body.mentions != null ? { mentions: body.mentions } : {}),
      edits,
      deleted,
      reactions: deleted ? {} : this.reactionsOf(id),
      pinned: !deleted && pin?.on === true,
      replies: this.replies.get(id)?.size ?? 0
    }
  }

  private addReply (parent: string, child: string): void {
    let children = this.replies.get(parent)
    if (children == null) this.replies.set(parent, children = new Set())
    children.add(child)
  }

  /** The place of an erased message, from its delete (which kept author and time). */
  private tombstone (id: string): ChatMessage | null {
    if (!this.isDeleted(id)) return null
    const d = (this.deletes.get(id) ?? []).find(e => e.targetBy != null && e.targetTs != null)
    if (d?.targetBy == null || d.targetTs == null) return null
    return {
      id: id as MessageId,
      author: d.targetBy,
      authorName: '',
      ts: d.targetTs,
      kind: 'text',
      text: '',
      edits: 0,
      deleted: true,
      reactions: {},
      pinned: false,
      replies: this.replies.get(id)?.size ?? 0
    }
  }

  /** emoji -> who reacted with it (sorted), from the latest event per person and emoji. */
  private reactionsOf (target: string): Record<string, string[]> {
    const m = this.ctx.membership()
    const latest = new Map<string, { on: boolean }>()
    for (const r of (this.reactions.get(target) ?? []).filter(r => m.roleAt(r.by, r) != null).sort(compareEntries)) {
      const body = this.reactionBody(r)
      if (body != null) latest.set(`${r.by}\n${body.emoji}`, { on: body.on })
    }
    const out: Record<string, string[]> = {}
    for (const [k, { on }] of latest) {
      if (!on) continue
      const [by, emoji] = k.split('\n')
      ;(out[emoji] ??= []).push(by)
    }
    for (const list of Object.values(out)) list.sort()
    return out
  }

  private postBody (event: PostEvent | EditEvent): PostBody | null {
    return this.opened(event, parsePostBody) as PostBody | null
  }

  private reactionBody (event: ReactEvent): ReactionBody | null {
    return this.opened(event, parseReactionBody) as ReactionBody | null
  }

  private opened (event: PostEvent | EditEvent | ReactEvent, parse: (bytes: Uint8Array) => PostBody | ReactionBody): PostBody | ReactionBody | null {
    const cached = this.bodies.get(event.id)
    if (cached !== undefined) return cached
    const key = this.ctx.key(event.key)
    let body: PostBody | ReactionBody | null = null
    if (key != null) {
      const plain = this.ctx.open(key, event.body, bodyAad(this.ctx.groupId, event.id, event.key))
      try {
        body = plain == null ? null : parse(plain)
      } catch {
        body = null
      }
      if (plain == null || body == null) this.invalid++
    }
    this.bodies.set(event.id, body)
    return body
  }
}

function push<E extends { target: string }> (index: Map<string, E[]>, event: E): void {
  const list = index.get(event.target)
  if (list == null) index.set(event.target, [event])
  else list.push(event)
}
