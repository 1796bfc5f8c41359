import { createHash } from 'node:crypto'
import { FILE_CHUNK_BYTES } from '../constants.js'
import { sealChunk, sha256, type Manifest } from './manifest.js'

export interface SealedSource extends Manifest {
  /** the plain file's SHA-256 (hex) */
  sha256: string
  /** the plain bytes, when the file was no larger than `keepUpTo` (for a thumbnail) */
  kept?: Buffer
}

export interface SealOptions {
  /** more than this many bytes: `tooLarge(size)` is thrown part way */
  maxBytes: number
  tooLarge: (size: number) => Error
  /** keep the plain bytes of a file up to this size */
  keepUpTo?: number
}

/**
 * Reads a file once and cuts it into chunks of FILE_CHUNK_BYTES sealed with `key`, handing
 * each sealed chunk to `sink` in order. Answers the manifest (each sealed chunk's SHA-256)
 * and the plain file's SHA-256. Memory: one chunk, plus the file when asked to keep it.
 */
export async function sealSource (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, key: Uint8Array, options: SealOptions, sink: (sealed: Uint8Array) => Promise<void>): Promise<SealedSource> {
  const plainHash = createHash('sha256')
  const hashes: Buffer[] = []
  const chunk = Buffer.allocUnsafe(FILE_CHUNK_BYTES)
  let kept: Buffer[] | null = options.keepUpTo != null ? [] : null
  let filled = 0
  let size = 0
  const seal = async (length: number): Promise<void> => {
    const sealed = sealChunk(key, hashes.length, chunk.subarray(0, length))
    hashes.push(sha256(sealed))
    await sink(sealed)
  }
  for await (const piece of source) {
    size += piece.length
    if (size > options.maxBytes) throw options.tooLarge(size)
    plainHash.update(piece)
    if (kept != null && size <= (options.keepUpTo ?? 0)) kept.push(Buffer.from(piece))
    else kept = null
    for (let at = 0; at < piece.length;) {
      const n = Math.min(piece.length - at, FILE_CHUNK_BYTES - filled)
      chunk.set(piece.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === FILE_CHUNK_BYTES) {
        await seal(filled)
        filled = 0
      }
    }
  }
  if (filled > 0) await seal(filled)
  return {
    size,
    chunkSize: FILE_CHUNK_BYTES,
    hashes: Buffer.concat(hashes),
    sha256: plainHash.digest('hex'),
    ...(kept != null ? { kept: Buffer.concat(kept) } : {})
  }
}
