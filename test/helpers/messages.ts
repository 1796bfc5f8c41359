import { newMessageId, type ChatMessage, type Timestamp } from '../../crdt/index.js'

/** A valid message for document tests. */
export function makeMessage (author: string, ts: Timestamp, text = 'hello'): ChatMessage {
  return { v: 1, id: newMessageId(), author, authorName: author, ts, kind: 'text', text, edits: 0, deleted: false }
}

/** mulberry32: a tiny seeded PRNG, so a failing seed replays the same run. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
