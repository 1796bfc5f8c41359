import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FILE_CHUNK_BYTES, SEAL_OVERHEAD } from '../constants.js'
import type { Bitmap } from './bitmap.js'
import { AlignedBuffers, alignUp, DIRECT_ALIGN, openDirect } from './direct-io.js'
import { pieces, sealedChunkLength, type Manifest } from './manifest.js'
const log = logger('outpost:files:stored')

/** The bitmap of a file being written is saved at most this often (and at close). */
const SAVE_EVERY_MS = 1_000
/** A file's data stays open this long after its last use. */
const IDLE_CLOSE_MS = 30_000
/** Aligned buffers for direct reads (two each) and writes (one), shared by every file. */
const DIRECT_BUFFERS = 8

/**
 * The sealed chunks of a file are in `chunks`, chunk i at i × CHUNK_STRIDE: each starts on
 * a DIRECT_ALIGN boundary (the gap after it is padding) so that it can be written with
 * O_DIRECT. Files stored before that are in `data`, packed end to end; they are read and
 * written where they are, through the page cache.
 */
export const CHUNKS_FILE = 'chunks'
export const CHUNK_STRIDE = alignUp(FILE_CHUNK_BYTES + SEAL_OVERHEAD)
export const PACKED_FILE = 'data'
const PACKED_STRIDE = FILE_CHUNK_BYTES + SEAL_OVERHEAD

export interface Layout {
  file: typeof CHUNKS_FILE | typeof PACKED_FILE
  stride: number
}
export const ALIGNED: Layout = { file: CHUNKS_FILE, stride: CHUNK_STRIDE }
export const PACKED: Layout = { file: PACKED_FILE, stride: PACKED_STRIDE }

let directBuffers: AlignedBuffers | undefined
const alignedBuffers = (): AlignedBuffers => (directBuffers ??= new AlignedBuffers(CHUNK_STRIDE, DIRECT_BUFFERS))

/** Chunks written one at a time, and files read whole, past the page cache or through it. */
export interface IoCounters {
  directWrites: number
  cachedWrites: number
  directReads: number
  cachedReads: number
}

export interface StoredMeta {
  /** this node's user asked for the file: resume fetching it after a restart */
  wanted: boolean
  /** every chunk was checked and the whole file matched its sender's hash... */
  verified: boolean
  /** ...which is this (the plain file's SHA-256) */
  sha256?: string
}

/**
 * One file on disk, in its own directory: `manifest`, `chunks` (the sealed chunks, see
 * CHUNKS_FILE; a partial file is sparse), `have` (the bitmap of
 * chunks held) and `meta.json`. A chunk's bit is saved only after the chunk was written, so
 * after a crash the bitmap may miss the last second's chunks (fetched again) but never
 * claims one that is not there.
 */
export class StoredFile {
  readonly have: Bitmap
  private handle: Promise<FileHandle> | null = null
  /** for direct writes: not tried yet (undefined), not possible (null), or open */
  private direct: Promise<FileHandle | null> | null | undefined
  private idle: NodeJS.Timeout | null = null
  private saveTimer: NodeJS.Timeout | null = null
  private saving: Promise<void> = Promise.resolve()
  private removed = false

  constructor (readonly fileId: string, readonly manifest: Manifest, private readonly dir: string, have: Bitmap, private meta: StoredMeta, private readonly layout: Layout, private readonly io: IoCounters) {
    this.have = have
  }

  get chunks (): number { return this.have.size }
  get complete (): boolean { return this.have.full }
  get wanted (): boolean { return this.meta.wanted }
  get verified (): boolean { return this.meta.verified }
  get sha256 (): string | undefined { return this.meta.verified ? this.meta.sha256 : undefined }
  /** bytes of the plain file held */
  get bytesHeld (): number {
    const { size, chunkSize } = this.manifest
    if (this.have.full) return size
    const last = this.have.size - 1
    return this.have.count * chunkSize - (this.have.has(last) ? chunkSize * (last + 1) - size : 0)
  }

  /** A sealed chunk as on disk; read into `into` (at least a chunk long, the caller's to reuse) when given. */
  async readChunk (index: number, into?: Buffer): Promise<Uint8Array> {
    const length = sealedChunkLength(this.manifest, index)
    const buf = into ?? Buffer.allocUnsafe(length)
    const { bytesRead } = await (await this.file()).read(buf, 0, length, this.offset(index))
    return bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
  }

  /** Writes a sealed chunk (already checked against the manifest) and marks it held. */
  async writeChunk (index: number, sealed: Uint8Array | Uint8ArrayList): Promise<void> {
    if (this.removed) return
    if (await this.writeDirect(index, sealed)) {
      this.io.directWrites++
    } else {
      await (await this.file()).writev(pieces(sealed), this.offset(index))
      this.io.cachedWrites++
    }
    this.have.add(index)
    this.scheduleSave()
  }

  /**
   * The sealed chunks in order from `from`, each valid only until the next is asked for.
   * Read one ahead, and past the page cache where the file allows it (see writeDirect):
   * verifying or opening a file reads it once, and caching what is read once costs more
   * than it saves.
   */
  async * readChunks (from = 0): AsyncGenerator<Uint8Array> {
    const handle = await this.directHandle()
    const pool = handle != null ? alignedBuffers() : undefined
    const spares = pool?.tryTake(2)
    if (handle == null || pool == null || spares == null) {
      this.io.cachedReads++
      const buffer = Buffer.allocUnsafe(this.manifest.chunkSize + SEAL_OVERHEAD)
      for (let i = from; i < this.chunks; i++) yield await this.readChunk(i, buffer)
      return
    }
    const read = async (index: number, into: Buffer): Promise<Uint8Array> => {
      const length = sealedChunkLength(this.manifest, index)
      this.touch()
      const { bytesRead } = await handle.read(into, 0, alignUp(length), this.offset(index))
      return into.subarray(0, Math.min(length, bytesRead))
    }
    this.io.directReads++
    let next: Promise<Uint8Array> | undefined
    try {
      next = from < this.chunks ? read(from, spares[0]) : undefined
      for (let i = from; i < this.chunks; i++) {
        const current = await (next as Promise<Uint8Array>)
        next = i + 1 < this.chunks ? read(i + 1, spares[(i + 1 - from) % 2]) : undefined
        yield current
      }
    } finally {
      // A read still under way writes into its buffer: it goes back only after.
      await next?.catch(() => {})
      for (const buffer of spares) pool.give(buffer)
    }
  }

  /**
   * Writes a chunk past the page cache when the file and the file system allow it:
   * copied into an aligned buffer and padded to DIRECT_ALIGN (the padding stays inside the
   * chunk's slot). Answers false when the caller must write it the usual way.
   */
  private async writeDirect (index: number, sealed: Uint8Array | Uint8ArrayList): Promise<boolean> {
    const pool = alignedBuffers()
    if (sealed.byteLength > pool.bytes) return false
    const handle = await this.directHandle()
    const [buffer] = (handle != null ? pool.tryTake(1) : undefined) ?? []
    if (handle == null || buffer == null) return false
    try {
      let at = 0
      for (const piece of pieces(sealed)) {
        buffer.set(piece, at)
        at += piece.byteLength
      }
      const length = alignUp(at)
      buffer.fill(0, at, length)
      await handle.write(buffer, 0, length, this.offset(index))
      return true
    } catch (err) {
      // A device with a larger block than DIRECT_ALIGN refuses the write: go on without.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
      log('direct writes refused for %s (EINVAL); writing through the page cache', this.fileId)
      this.closeDirect()
      this.direct = null
      return false
    } finally {
      pool.give(buffer)
    }
  }

  /** The handle for direct reads and writes, or null where there can be none. */
  private async directHandle (): Promise<FileHandle | null> {
    if (this.layout.stride % DIRECT_ALIGN !== 0 || this.direct === null || this.removed) return null
    this.direct ??= openDirect(join(this.dir, this.layout.file))
    const handle = await this.direct
    if (handle == null) this.direct = null
    else this.touch()
    return handle
  }

  /** A chunk found damaged on disk: fetch it again. */
  forget (index: number): void {
    this.have.delete(index)
    this.meta.verified = false
    this.scheduleSave()
  }

  async setMeta (change: Partial<StoredMeta>): Promise<void> {
    this.meta = { ...this.meta, ...change }
    await this.save()
  }

  /** Saves the bitmap and meta now (atomically: written aside, then renamed). */
  async save (): Promise<void> {
    if (this.saveTimer != null) clearTimeout(this.saveTimer)
    this.saveTimer = null
    const run = this.saving.then(async () => {
      if (this.removed) return
      await replaceFile(join(this.dir, 'have'), this.have.bytes)
      await replaceFile(join(this.dir, 'meta.json'), JSON.stringify(this.meta))
    })
    this.saving = run.catch(err => { log.error('cannot save the state of file %s: %s', this.fileId, (err as Error).message) })
    await run
  }

  async close (): Promise<void> {
    if (this.saveTimer != null) await this.save()
    await this.saving
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = null
    const handle = this.handle
    this.handle = null
    if (handle != null) await (await handle).close()
    const direct = this.direct
    if (direct != null) this.direct = undefined
    await (await direct)?.close()
  }

  /** Closes and deletes the file's directory. */
  async remove (): Promise<void> {
    if (this.saveTimer != null) clearTimeout(this.saveTimer)
    this.saveTimer = null
    this.removed = true
    await this.close()
    await rm(this.dir, { recursive: true, force: true })
  }

  private offset (index: number): number {
    return index * this.layout.stride
  }

  private async file (): Promise<FileHandle> {
    this.touch()
    this.handle ??= open(join(this.dir, this.layout.file), 'r+')
    return await this.handle
  }

  /** The file's handles close after IDLE_CLOSE_MS without use. */
  private touch (): void {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = setTimeout(() => { this.closeHandles() }, IDLE_CLOSE_MS)
    this.idle.unref()
  }

  private closeHandles (): void {
    const handle = this.handle
    this.handle = null
    handle?.then(async h => { await h.close() }).catch(() => {})
    this.closeDirect()
  }

  private closeDirect (): void {
    const direct = this.direct
    if (direct == null) return
    this.direct = undefined
    direct.then(async h => { await h?.close() }).catch(() => {})
  }

  private scheduleSave (): void {
    if (this.saveTimer != null) return
    this.saveTimer = setTimeout(() => { this.save().catch(() => {}) }, SAVE_EVERY_MS)
    this.saveTimer.unref()
  }
}

export async function replaceFile (path: string, data: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, data)
  await rename(`${path}.tmp`, path)
}
