import type { MessageId } from './ids.js'
import { compareMessages, type ChatMessage } from './message.js'
import { SortedHistory } from './sorted-history.js'
import type { ChangeOrigin } from './update-feed.js'

export type MessagesListener = (messages: ChatMessage[], origin: ChangeOrigin) => void

/** How a group's messages look to members now: a message's view, and every message with one. */
export interface MessageViews {
  view: (id: string) => ChatMessage | null
  viewIds: () => string[]
}

/**
 * What members see of a group: its visible messages in display order, kept current from
 * the message index's views, and the listeners told what changed (the node's events,
 * search) and what left the view (expired, no longer readable).
 */
export class VisibleHistory {
  /** visible messages in display order, and by id */
  readonly messages = new SortedHistory()
  private readonly listeners = new Set<MessagesListener>()
  private readonly removedListeners = new Set<(ids: MessageId[]) => void>()

  constructor (private readonly views: MessageViews) {}

  onMessages (listener: MessagesListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Messages that left the view (expired, or no longer readable): ids, for indexes. */
  onRemoved (listener: (ids: MessageId[]) => void): () => void {
    this.removedListeners.add(listener)
    return () => { this.removedListeners.delete(listener) }
  }

  /** Decides the messages `ids` again and reports what changed. */
  refresh (ids: Iterable<string>, origin: ChangeOrigin): void {
    const changed: ChatMessage[] = []
    const removed: MessageId[] = []
    for (const id of ids) {
      const next = this.views.view(id)
      const previous = this.messages.get(id)
      if (previous != null) this.messages.remove(previous)
      if (next != null) {
        this.messages.add(next)
        changed.push(next)
      } else if (previous != null) {
        removed.push(previous.id)
      }
    }
    this.emit(changed, origin)
    this.emitRemoved(removed)
  }

  /** Decides every message again (after a membership change) and reports what changed. */
  rebuild (origin: ChangeOrigin): void {
    const previous = this.messages.snapshot()
    const list: ChatMessage[] = []
    for (const id of this.views.viewIds()) {
      const message = this.views.view(id)
      if (message != null) list.push(message)
    }
    this.messages.reset(list)
    const changed = list.filter(m => {
      const before = previous.get(m.id)
      return before == null || before.text !== m.text || before.edits !== m.edits || before.deleted !== m.deleted ||
        before.pinned !== m.pinned || before.replies !== m.replies || JSON.stringify(before.reactions) !== JSON.stringify(m.reactions)
    })
    this.emit(changed, origin)
    this.emitRemoved([...previous.keys()].filter(id => !this.messages.has(id)) as MessageId[])
  }

  clearListeners (): void {
    this.listeners.clear()
    this.removedListeners.clear()
  }

  private emitRemoved (ids: MessageId[]): void {
    if (ids.length === 0) return
    for (const listener of this.removedListeners) listener(ids)
  }

  private emit (changed: ChatMessage[], origin: ChangeOrigin): void {
    if (changed.length === 0 || this.listeners.size === 0) return
    changed.sort(compareMessages)
    for (const listener of this.listeners) listener(changed, origin)
  }
}
