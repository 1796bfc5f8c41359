import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { Uint8ArrayList } from 'uint8arraylist'
import { SEAL_OVERHEAD } from '../constants.js'
import { Bitmap } from './bitmap.js'
import { chunkCount, decodeManifest, encodeManifest, fileIdOf, isFileId, pieces, sealedChunkLength, type Manifest } from './manifest.js'

const log = logger('outpost:files:store')

/** The bitmap of a file being written is saved at most this often (and at close). */
const SAVE_EVERY_MS = 1_000
/** A file's data stays open this long after its last use. */
const IDLE_CLOSE_MS = 30_000

interface StoredMeta {
  /** this node's user asked for the file: resume fetching it after a restart */
  wanted: boolean
  /** every chunk was checked and the whole file matched its sender's hash... */
  verified: boolean
  /** ...which is this (the plain file's SHA-256) */
  sha256?: string
}

/**
 * One file on disk, in its own directory: `manifest`, `data` (the sealed chunks, chunk i at
 * i × (chunk size + seal overhead), so a partial file is sparse), `have` (the bitmap of
 * chunks held) and `meta.json`. A chunk's bit is saved only after the chunk was written, so
 * after a crash the bitmap may miss the last second's chunks (fetched again) but never
 * claims one that is not there.
 */
export class StoredFile {
  readonly have: Bitmap
  private handle: Promise<FileHandle> | null = null
  private idle: NodeJS.Timeout | null = null
  private saveTimer: NodeJS.Timeout | null = null
  private saving: Promise<void> = Promise.resolve()
  private removed = false

  constructor (readonly fileId: string, readonly manifest: Manifest, private readonly dir: string, have: Bitmap, private meta: StoredMeta) {
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
    await (await this.file()).writev(pieces(sealed), this.offset(index))
    this.have.add(index)
    this.scheduleSave()
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
    return index * (this.manifest.chunkSize + SEAL_OVERHEAD)
  }

  private async file (): Promise<FileHandle> {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = setTimeout(() => { this.closeHandle() }, IDLE_CLOSE_MS)
    this.idle.unref()
    this.handle ??= open(join(this.dir, 'data'), 'r+')
    return await this.handle
  }

  private closeHandle (): void {
    const handle = this.handle
    this.handle = null
    handle?.then(async h => { await h.close() }).catch(() => {})
  }

  private scheduleSave (): void {
    if (this.saveTimer != null) return
    this.saveTimer = setTimeout(() => { this.save().catch(() => {}) }, SAVE_EVERY_MS)
    this.saveTimer.unref()
  }
}

/**
 * The files a node holds, whole or in part, under one directory (DATA/files). Chunks are
 * kept sealed with each file's key, so what is on disk reads as noise without the group
 * key that opens the message naming the file.
 */
export class FileStore {
  private readonly files = new Map<string, StoredFile>()

  constructor (readonly dir: string) {}

  /** Loads what is on disk; drops unfinished imports (a send that never completed). */
  async open (): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.incoming-')) {
        await rm(join(this.dir, name), { recursive: true, force: true })
        continue
      }
      if (!isFileId(name)) continue
      try {
        this.files.set(name, await this.load(name))
      } catch (err) {
        // One damaged file must not stop the node: it is fetched again if wanted.
        log.error('dropping damaged file %s: %s', name, (err as Error).message)
        await rm(join(this.dir, name), { recursive: true, force: true })
      }
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.files.values()].map(async f => { await f.close() }))
  }

  get (fileId: string): StoredFile | undefined {
    return this.files.get(fileId)
  }

  list (): StoredFile[] {
    return [...this.files.values()]
  }

  /** Starts holding a file of which no chunk is here yet (a download). */
  async create (fileId: string, manifestBytes: Uint8Array, wanted: boolean): Promise<StoredFile> {
    const existing = this.files.get(fileId)
    if (existing != null) return existing
    const manifest = decodeManifest(manifestBytes)
    if (fileIdOf(manifestBytes) !== fileId) throw new Error('the manifest does not match the file id')
    const dir = join(this.dir, fileId)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'manifest'), manifestBytes)
    await writeFile(join(dir, 'data'), new Uint8Array(0))
    const file = new StoredFile(fileId, manifest, dir, new Bitmap(chunkCount(manifest.size, manifest.chunkSize)), { wanted, verified: false })
    await file.save()
    this.files.set(fileId, file)
    return file
  }

  /**
   * Takes a file this node writes (a send): `write` is handed a sink for sealed chunks in
   * order and answers the manifest once the source is read. The chunks go to a hidden
   * directory first, renamed to the file id at the end, so a send cut short leaves nothing.
   */
  async importFile (write: (sink: (sealed: Uint8Array) => Promise<void>) => Promise<Manifest & { sha256: string }>): Promise<StoredFile> {
    const tmp = join(this.dir, `.incoming-${randomBytes(8).toString('hex')}`)
    await mkdir(tmp)
    try {
      const handle = await open(join(tmp, 'data'), 'w')
      let manifest: Manifest & { sha256: string }
      try {
        manifest = await write(async sealed => { await handle.write(sealed) })
        await handle.sync()
      } finally {
        await handle.close()
      }
      const manifestBytes = encodeManifest(manifest)
      const fileId = fileIdOf(manifestBytes)
      await writeFile(join(tmp, 'manifest'), manifestBytes)
      const have = new Bitmap(chunkCount(manifest.size, manifest.chunkSize))
      for (let i = 0; i < have.size; i++) have.add(i)
      const meta: StoredMeta = { wanted: true, verified: true, sha256: manifest.sha256 }
      await writeFile(join(tmp, 'have'), have.bytes)
      await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta))
      const dir = join(this.dir, fileId)
      await rename(tmp, dir)
      const file = new StoredFile(fileId, manifest, dir, have, meta)
      this.files.set(fileId, file)
      return file
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      throw err
    }
  }

  async remove (fileId: string): Promise<void> {
    const file = this.files.get(fileId)
    this.files.delete(fileId)
    await file?.remove()
  }

  private async load (fileId: string): Promise<StoredFile> {
    const dir = join(this.dir, fileId)
    const manifestBytes = await readFile(join(dir, 'manifest'))
    if (fileIdOf(manifestBytes) !== fileId) throw new Error('manifest does not match its id')
    const manifest = decodeManifest(manifestBytes)
    const count = chunkCount(manifest.size, manifest.chunkSize)
    const have = new Bitmap(count, await readFile(join(dir, 'have')).catch(() => undefined))
    let meta: StoredMeta = { wanted: false, verified: false }
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Partial<StoredMeta>
      const verified = parsed.verified === true && have.full && typeof parsed.sha256 === 'string'
      meta = { wanted: parsed.wanted === true, verified, ...(verified ? { sha256: parsed.sha256 } : {}) }
    } catch {}
    return new StoredFile(fileId, manifest, dir, have, meta)
  }
}

async function replaceFile (path: string, data: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, data)
  await rename(`${path}.tmp`, path)
}
