/**
 * Posting chunks: a term's list of (document number, term frequency), delta-coded as
 * unsigned LEB128 varints. Document numbers only grow (a re-indexed message gets a new
 * one), so a chunk is appended to without re-sorting. Pure functions, no I/O.
 */

export interface Postings {
  docs: number[]
  tfs: number[]
}

function writeVarint (out: number[], n: number): void {
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
}

/** Encodes postings that follow `after` (the chunk's last document, or -1 for a new chunk). */
export function encodePostings (docs: number[], tfs: number[], after: number): Uint8Array {
  const out: number[] = []
  let last = after
  for (let i = 0; i < docs.length; i++) {
    writeVarint(out, docs[i] - last)
    writeVarint(out, tfs[i])
    last = docs[i]
  }
  return Uint8Array.from(out)
}

/** Appends the decoded postings of `bytes` to `into`; returns the chunk's last document. */
export function decodePostings (bytes: Uint8Array, into: Postings): number {
  let last = -1
  let i = 0
  let first = true
  while (i < bytes.length) {
    let n = 0
    let mul = 1
    let b: number
    do { b = bytes[i++]; n += (b & 0x7f) * mul; mul *= 128 } while (b >= 0x80 && i < bytes.length)
    let tf = 0
    mul = 1
    do { b = bytes[i++]; tf += (b & 0x7f) * mul; mul *= 128 } while (b >= 0x80 && i < bytes.length)
    // The first posting of a chunk is coded against -1, so it is its number plus one.
    last = first ? n - 1 : last + n
    first = false
    into.docs.push(last)
    into.tfs.push(tf)
  }
  return last
}
