/**
 * One fixed-size slot per document number, 1,024 to a stored block: what filtering and
 * ranking need without a read per candidate (live, has-file, length, group, author, time)
 * and the message id to answer with. A removed or re-indexed document's slot is marked
 * dead; its postings are then skipped at query time.
 */
export const SLOT_BYTES = 32
export const SLOTS_PER_BLOCK = 1024
export const BLOCK_BYTES = SLOT_BYTES * SLOTS_PER_BLOCK

const LIVE = 1
const HAS_FILE = 2
const MAX_LENGTH = 0xffff

export interface Slot {
  live: boolean
  hasFile: boolean
  length: number
  groupNo: number
  authorNo: number
  ts: number
  /** the message id, 24 hex characters */
  messageId: string
}

export function blockOf (doc: number): number { return Math.floor(doc / SLOTS_PER_BLOCK) }

export function writeSlot (block: Buffer, doc: number, slot: Omit<Slot, 'live'>): void {
  const at = (doc % SLOTS_PER_BLOCK) * SLOT_BYTES
  block.fill(0, at, at + SLOT_BYTES)
  block[at] = LIVE | (slot.hasFile ? HAS_FILE : 0)
  block.writeUInt16LE(Math.min(slot.length, MAX_LENGTH), at + 2)
  block.writeUInt32LE(slot.groupNo, at + 4)
  block.writeUInt32LE(slot.authorNo, at + 8)
  block.writeDoubleLE(slot.ts, at + 12)
  block.write(slot.messageId, at + 20, 12, 'hex')
}

/** Marks a slot dead; the document's length, or -1 if it was not live. */
export function killSlot (block: Buffer, doc: number): number {
  const at = (doc % SLOTS_PER_BLOCK) * SLOT_BYTES
  if ((block[at] & LIVE) === 0) return -1
  block[at] &= ~LIVE
  return block.readUInt16LE(at + 2)
}

/** How many bytes of its block the slots before document `end` fill. */
export function usedBytes (end: number): number {
  return (end % SLOTS_PER_BLOCK) * SLOT_BYTES
}

/** What a query keeps of the documents a term occurs in. */
export interface SlotFilter {
  groupNo?: number
  authorNo?: number
  /** ms since the epoch, inclusive */
  since: number
  until: number
  hasFile?: boolean
}

/**
 * The document's length if its slot is live and passes `filter`, else -1. Read in place,
 * without a Slot object: it runs for every document of a query's rarest term.
 */
export function filteredLength (block: Buffer, doc: number, filter: SlotFilter): number {
  const at = (doc % SLOTS_PER_BLOCK) * SLOT_BYTES
  const flags = block[at]
  if ((flags & LIVE) === 0) return -1
  if (filter.hasFile != null && ((flags & HAS_FILE) !== 0) !== filter.hasFile) return -1
  if (filter.groupNo != null && block.readUInt32LE(at + 4) !== filter.groupNo) return -1
  if (filter.authorNo != null && block.readUInt32LE(at + 8) !== filter.authorNo) return -1
  const ts = block.readDoubleLE(at + 12)
  if (ts < filter.since || ts > filter.until) return -1
  return block.readUInt16LE(at + 2)
}

export function isLive (block: Buffer, doc: number): boolean { return (block[(doc % SLOTS_PER_BLOCK) * SLOT_BYTES] & LIVE) !== 0 }

export function readSlot (block: Buffer, doc: number): Slot {
  const at = (doc % SLOTS_PER_BLOCK) * SLOT_BYTES
  return {
    live: (block[at] & LIVE) !== 0,
    hasFile: (block[at] & HAS_FILE) !== 0,
    length: block.readUInt16LE(at + 2),
    groupNo: block.readUInt32LE(at + 4),
    authorNo: block.readUInt32LE(at + 8),
    ts: block.readDoubleLE(at + 12),
    messageId: block.toString('hex', at + 20, at + 32)
  }
}

/** A stored block, padded back to full size (the tail block is stored only as far as used). */
export function loadBlock (stored: Uint8Array | undefined): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES)
  if (stored != null) block.set(stored.subarray(0, BLOCK_BYTES))
  return block
}
