import { createHash } from 'node:crypto'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FILE_CHUNK_BYTES, MAX_FILE_BYTES_LIMIT, SEAL_OVERHEAD } from '../constants.js'
import { MalformedFrameError } from '../errors.js'
import { open, seal } from '../trust/keys.js'

/**
 * A file's manifest: its size, its chunk size and the SHA-256 of each sealed chunk. The
 * file id is the SHA-256 of the manifest's bytes, so a manifest from any peer is checked
 * against the id, and every chunk against the manifest, before anything is kept.
 *
 * Layout: "OPF1" | size (u64 BE) | chunk size (u32 BE) | count (u32 BE) | count × 32-byte hash.
 * Pure functions; the store and the transfer do the I/O.
 */
export interface Manifest {
  readonly size: number
  readonly chunkSize: number
  /** the chunk hashes, 32 bytes each, back to back */
  readonly hashes: Uint8Array
}

const MAGIC = Buffer.from('OPF1')
const HEADER_BYTES = 4 + 8 + 4 + 4
const HASH_BYTES = 32

export const isFileId = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)

export function chunkCount (size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize)
}

/** How long chunk `index` of a file is in plain text. */
export function plainChunkLength (m: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  return Math.min(m.chunkSize, m.size - index * m.chunkSize)
}

/** How long chunk `index` is sealed (on the wire and on disk). */
export function sealedChunkLength (m: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  return plainChunkLength(m, index) + SEAL_OVERHEAD
}

export function chunkHash (m: Manifest, index: number): Uint8Array {
  return m.hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)
}

export function sha256 (data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/** Whether `sealed` (one buffer, or the pieces it arrived in) is chunk `index` of the file the manifest describes. */
export function chunkMatches (m: Manifest, index: number, sealed: Uint8Array | Uint8ArrayList): boolean {
  if (sealed.byteLength !== sealedChunkLength(m, index)) return false
  const hash = createHash('sha256')
  for (const piece of pieces(sealed)) hash.update(piece)
  return hash.digest().equals(chunkHash(m, index))
}

/** The buffers of `data`, without joining them. */
export function pieces (data: Uint8Array | Uint8ArrayList): Uint8Array[] {
  return data instanceof Uint8Array ? [data] : [...data]
}

export function encodeManifest (m: Manifest): Uint8Array {
  const out = Buffer.alloc(HEADER_BYTES + m.hashes.length)
  MAGIC.copy(out, 0)
  out.writeBigUInt64BE(BigInt(m.size), 4)
  out.writeUInt32BE(m.chunkSize, 12)
  out.writeUInt32BE(m.hashes.length / HASH_BYTES, 16)
  out.set(m.hashes, HEADER_BYTES)
  return out
}

/** Decodes an untrusted manifest; MalformedFrameError unless it is well formed and within limits. */
export function decodeManifest (bytes: Uint8Array): Manifest {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const fail = (why: string): never => { throw new MalformedFrameError(`file manifest: ${why}`) }
  if (b.length < HEADER_BYTES || !b.subarray(0, 4).equals(MAGIC)) fail('not a manifest')
  const size = b.readBigUInt64BE(4)
  if (size > BigInt(MAX_FILE_BYTES_LIMIT)) fail(`a size of ${size} bytes is over the limit`)
  const chunkSize = b.readUInt32BE(12)
  if (chunkSize !== FILE_CHUNK_BYTES) fail(`unsupported chunk size ${chunkSize}`)
  const count = b.readUInt32BE(16)
  if (count !== chunkCount(Number(size), chunkSize)) fail(`${count} chunks for ${size} bytes`)
  if (b.length !== HEADER_BYTES + count * HASH_BYTES) fail('wrong length')
  return { size: Number(size), chunkSize, hashes: new Uint8Array(b.subarray(HEADER_BYTES)) }
}

export function fileIdOf (manifestBytes: Uint8Array): string {
  return sha256(manifestBytes).toString('hex')
}

/** Additional data bound into each sealed chunk: its place in the file. */
function chunkAad (index: number): Uint8Array {
  return Buffer.from(`outpost/file-chunk/1\n${index}`)
}

export function sealChunk (key: Uint8Array, index: number, plain: Uint8Array): Uint8Array {
  return seal(key, plain, chunkAad(index))
}

/** The plain bytes of a sealed chunk, or null when it does not open with the file's key. */
export function openChunk (key: Uint8Array, index: number, sealed: Uint8Array): Uint8Array | null {
  return open(key, sealed, chunkAad(index))
}
