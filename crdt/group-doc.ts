import * as Y from 'yjs'
import { InvalidUpdateError } from './errors.js'
import { compareMessages, parseMessage, type ChatMessage } from './message.js'
import type { GroupId, MessageId } from './ids.js'

/** Where a change came from; passed to listeners so the node knows what to publish. */
export type ChangeOrigin = 'local' | 'remote' | 'storage'

export type MessagesListener = (messages: ChatMessage[], origin: ChangeOrigin) => void

export interface GroupMeta {
  name: string
  createdBy: string
  createdAt: number
}

/**
 * A group's history as a Yjs document: a `Y.Map` of messages keyed by id (flat cost per
 * append, unlike a `Y.Array`), plus a small `meta` map. Entries that fail validation, from a
 * buggy or hostile peer, are kept out of every listing but never crash the reader.
 */
export class GroupDoc {
  readonly doc: Y.Doc
  private readonly messages: Y.Map<unknown>
  private readonly meta: Y.Map<unknown>
  /** messages in display order; built on first read, then kept up to date incrementally */
  private sorted: ChatMessage[] | null = null
  private readonly byId = new Map<string, ChatMessage>()
  private readonly listeners = new Set<MessagesListener>()
  private invalid = 0

  constructor (readonly groupId: GroupId) {
    this.doc = new Y.Doc({ gc: true })
    this.messages = this.doc.getMap('messages')
    this.meta = this.doc.getMap('meta')
    this.messages.observe((event, txn) => { this.onMessagesChanged(event, txn) })
  }

  /** Adds a message written on this node. */
  add (message: ChatMessage): void {
    parseMessage(message)
    this.doc.transact(() => { this.messages.set(message.id, message) }, 'local')
  }

  setMeta (meta: GroupMeta): void {
    this.doc.transact(() => {
      this.meta.set('name', meta.name)
      this.meta.set('createdBy', meta.createdBy)
      this.meta.set('createdAt', meta.createdAt)
    }, 'local')
  }

  getMeta (): Partial<GroupMeta> {
    const name = this.meta.get('name')
    const createdBy = this.meta.get('createdBy')
    const createdAt = this.meta.get('createdAt')
    return {
      name: typeof name === 'string' ? name : undefined,
      createdBy: typeof createdBy === 'string' ? createdBy : undefined,
      createdAt: typeof createdAt === 'number' ? createdAt : undefined
    }
  }

  /**
   * Applies an update received from a peer or read from disk. Throws InvalidUpdateError for
   * bytes Yjs cannot decode. Returns true when the update depends on changes this replica
   * has not seen yet (the caller should run a sync with the sender).
   */
  applyUpdate (update: Uint8Array, origin: ChangeOrigin): { missingDependencies: boolean } {
    try {
      Y.applyUpdate(this.doc, update, origin)
    } catch (err) {
      throw new InvalidUpdateError(`cannot apply update to group ${this.groupId}: ${(err as Error).message}`)
    }
    return { missingDependencies: this.doc.store.pendingStructs != null || this.doc.store.pendingDs != null }
  }

  stateVector (): Uint8Array {
    return Y.encodeStateVector(this.doc)
  }

  /** Everything this replica has that a replica with `remoteStateVector` lacks. */
  diff (remoteStateVector?: Uint8Array): Uint8Array {
    try {
      return Y.encodeStateAsUpdate(this.doc, remoteStateVector)
    } catch (err) {
      throw new InvalidUpdateError(`bad state vector for group ${this.groupId}: ${(err as Error).message}`)
    }
  }

  get size (): number {
    return this.ordered().length
  }

  /** Entries that were present but failed validation. */
  get invalidEntries (): number {
    this.ordered()
    return this.invalid
  }

  get (id: MessageId): ChatMessage | undefined {
    this.ordered()
    return this.byId.get(id)
  }

  /** The latest `limit` messages (all when omitted), oldest first. */
  latest (limit?: number): ChatMessage[] {
    const all = this.ordered()
    return limit === undefined ? all.slice() : all.slice(Math.max(0, all.length - limit))
  }

  onMessages (listener: MessagesListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  destroy (): void {
    this.listeners.clear()
    this.doc.destroy()
  }

  private ordered (): ChatMessage[] {
    if (this.sorted != null) return this.sorted
    const list: ChatMessage[] = []
    this.invalid = 0
    for (const [key, value] of this.messages.entries()) {
      const message = this.validEntry(key, value)
      if (message == null) continue
      list.push(message)
      this.byId.set(message.id, message)
    }
    list.sort(compareMessages)
    this.sorted = list
    return list
  }

  private validEntry (key: string, value: unknown): ChatMessage | null {
    try {
      const message = parseMessage(value)
      if (message.id !== key) throw new Error('key does not match id')
      return message
    } catch {
      this.invalid++
      return null
    }
  }

  private onMessagesChanged (event: Y.YMapEvent<unknown>, txn: Y.Transaction): void {
    const origin: ChangeOrigin = txn.origin === 'local' ? 'local' : txn.origin === 'storage' ? 'storage' : 'remote'
    const added: ChatMessage[] = []
    for (const key of event.keysChanged) {
      const previous = this.byId.get(key)
      // Local messages were validated by add(); peers' and stored ones are checked here.
      const message = origin === 'local' ? this.messages.get(key) as ChatMessage : this.validEntry(key, this.messages.get(key))
      if (message == null) {
        if (previous != null) this.forget(previous)
        continue
      }
      this.byId.set(key, message)
      if (this.sorted != null) this.place(message, previous)
      added.push(message)
    }
    if (added.length === 0 || this.listeners.size === 0) return
    added.sort(compareMessages)
    for (const listener of this.listeners) listener(added, origin)
  }

  private forget (message: ChatMessage): void {
    this.byId.delete(message.id)
    if (this.sorted == null) return
    const at = this.indexOf(message)
    if (this.sorted[at]?.id === message.id) this.sorted.splice(at, 1)
  }

  /** Keeps the sorted cache current without a full re-sort (most arrivals are the newest). */
  private place (message: ChatMessage, previous: ChatMessage | undefined): void {
    const list = this.sorted as ChatMessage[]
    if (previous != null) {
      const at = this.indexOf(previous)
      if (at >= 0 && list[at].id === previous.id) list.splice(at, 1)
    }
    if (list.length === 0 || compareMessages(list[list.length - 1], message) < 0) {
      list.push(message)
      return
    }
    list.splice(this.indexOf(message), 0, message)
  }

  /** First index whose message sorts at or after `message` (binary search). */
  private indexOf (message: ChatMessage): number {
    const list = this.sorted as ChatMessage[]
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
