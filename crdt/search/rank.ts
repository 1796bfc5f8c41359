import type { Postings } from './postings.js'
import { blockOf, filteredLength, readSlot, type Slot, type SlotFilter } from './slots.js'

const BM25_K1 = 1.2
const BM25_B = 0.75

/** What BM25 needs of the whole index. */
export interface Corpus {
  /** live documents */
  live: number
  /** their lengths summed, in terms */
  totalLength: number
}

export interface Ranked { score: number, slot: Slot }

/**
 * The documents in every one of `lists` (a query's terms, shortest list first) that pass
 * `filter`, best first by BM25 (k1 1.2, b 0.75), equal scores to the newer; at most
 * `limit`. The filter is applied to the shortest list only: the others can only narrow it,
 * so `blocks` need hold only the slots of its documents. Pure: no I/O.
 */
export function rank (lists: Postings[], blocks: Map<number, Buffer>, filter: SlotFilter, corpus: Corpus, limit: number): Ranked[] {
  const n = Math.max(corpus.live, 1)
  const avgLength = corpus.totalLength / n
  const idf = (df: number): number => Math.log(1 + (Math.max(n, df) - df + 0.5) / (df + 0.5))
  const bm25 = (tf: number, length: number): number =>
    (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / Math.max(avgLength, 1)))

  const [first, ...rest] = lists
  const lengths = new Map<number, number>()
  let scores = new Map<number, number>()
  const w0 = idf(first.docs.length)
  for (let i = 0; i < first.docs.length; i++) {
    const doc = first.docs[i]
    const length = filteredLength(blocks.get(blockOf(doc)) as Buffer, doc, filter)
    if (length < 0) continue
    lengths.set(doc, length)
    scores.set(doc, w0 * bm25(first.tfs[i], length))
  }
  for (const list of rest) {
    const w = idf(list.docs.length)
    const next = new Map<number, number>()
    for (let i = 0; i < list.docs.length; i++) {
      const doc = list.docs[i]
      const score = scores.get(doc)
      if (score !== undefined) next.set(doc, score + w * bm25(list.tfs[i], lengths.get(doc) as number))
    }
    scores = next
  }
  const ranked = [...scores].map(([doc, score]) => ({ score, slot: readSlot(blocks.get(blockOf(doc)) as Buffer, doc) }))
  ranked.sort((a, b) => b.score - a.score || b.slot.ts - a.slot.ts)
  return ranked.slice(0, limit)
}
