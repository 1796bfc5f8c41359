import { compareTimestamps, type Timestamp } from './hlc.js'
import type { FileRef } from './entries.js'
import type { MessageId } from './ids.js'

export { MAX_TEXT_BYTES, MAX_NAME_LENGTH } from './entries.js'

export type MessageKind = 'text' | 'file'

/**
 * A message as members see it: a post opened with the group key, with its author's edits
 * and any delete folded in. Built from the signed events in the group document.
 */
export interface ChatMessage {
  readonly id: MessageId
  /** the author's PeerId */
  readonly author: string
  /** the author's display name when the message was written */
  readonly authorName: string
  readonly ts: Timestamp
  readonly kind: MessageKind
  /** the latest text (empty once deleted) */
  readonly text: string
  readonly replyTo?: MessageId
  readonly mentions?: readonly string[]
  /** the attached file (kind 'file'), gone once the message is deleted */
  readonly file?: FileRef
  readonly edits: number
  readonly deleted: boolean
  /** emoji -> the PeerIds that reacted with it */
  readonly reactions: Readonly<Record<string, readonly string[]>>
  readonly pinned: boolean
  /** how many posts reply to this one (its thread) */
  readonly replies: number
}

/** The display order, the same on every replica: (timestamp, author, id). */
export function compareMessages (a: ChatMessage, b: ChatMessage): number {
  const byTime = compareTimestamps(a.ts, b.ts)
  if (byTime !== 0) return byTime
  if (a.author !== b.author) return a.author < b.author ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
