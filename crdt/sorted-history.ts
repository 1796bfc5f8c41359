import type { MessageId } from './ids.js'
import { compareMessages, type ChatMessage } from './message.js'

/**
 * A group's visible messages in display order, and by id: what the history, its pages and
 * unread counts are read from. Kept current message by message (most arrivals are the
 * newest, so they are appended); positions are found by binary search.
 */
export class SortedHistory {
  private list: ChatMessage[] = []
  private readonly byId = new Map<string, ChatMessage>()

  get size (): number {
    return this.list.length
  }

  get (id: string): ChatMessage | undefined {
    return this.byId.get(id)
  }

  /** The newest message. */
  last (): ChatMessage | undefined {
    return this.list.at(-1)
  }

  /** Every message, oldest first (the list itself: do not change it). */
  all (): readonly ChatMessage[] {
    return this.list
  }

  /** The latest `limit` messages (all when omitted), oldest first. */
  latest (limit?: number): ChatMessage[] {
    return limit === undefined ? this.list.slice() : this.list.slice(Math.max(0, this.list.length - limit))
  }

  /**
   * One page, oldest first, without copying the whole list: the `limit` messages just
   * before `before`, just after `after`, or centred on `around` (the message itself
   * included). An id not shown here gives [].
   */
  page (anchor: { before?: MessageId, after?: MessageId, around?: MessageId }, limit: number): ChatMessage[] {
    const id = anchor.before ?? anchor.after ?? anchor.around
    const message = id != null ? this.byId.get(id) : undefined
    if (message == null) return []
    const at = this.indexOf(message)
    if (anchor.before != null) return this.list.slice(Math.max(0, at - limit), at)
    if (anchor.after != null) return this.list.slice(at + 1, at + 1 + limit)
    const start = Math.max(0, at - Math.floor(limit / 2))
    return this.list.slice(start, start + Math.max(1, limit))
  }

  /** The messages after `message` (one of this history's), oldest first. */
  * after (message: ChatMessage): Generator<ChatMessage> {
    for (let i = this.indexOf(message) + 1; i < this.list.length; i++) yield this.list[i]
  }

  /** Replaces everything (after a membership change re-decides what is visible). */
  reset (messages: ChatMessage[]): void {
    this.byId.clear()
    for (const m of messages) this.byId.set(m.id, m)
    this.list = [...messages].sort(compareMessages)
  }

  /** A copy of the messages by id, to compare with after a reset. */
  snapshot (): Map<string, ChatMessage> {
    return new Map(this.byId)
  }

  has (id: string): boolean {
    return this.byId.has(id)
  }

  remove (message: ChatMessage): void {
    this.byId.delete(message.id)
    const at = this.indexOf(message)
    if (this.list[at]?.id === message.id) this.list.splice(at, 1)
  }

  add (message: ChatMessage): void {
    this.byId.set(message.id, message)
    const list = this.list
    if (list.length === 0 || compareMessages(list[list.length - 1], message) < 0) {
      list.push(message)
      return
    }
    list.splice(this.indexOf(message), 0, message)
  }

  /** First index whose message sorts at or after `message`. */
  private indexOf (message: ChatMessage): number {
    const list = this.list
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
