import { randomBytes } from 'node:crypto'
import { access, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { Bitmap } from './bitmap.js'
import { chunkCount, decodeManifest, encodeManifest, fileIdOf, isFileId, type Manifest } from './manifest.js'
import { ALIGNED, CHUNK_STRIDE, CHUNKS_FILE, PACKED, PACKED_FILE, StoredFile, type IoCounters, type StoredMeta } from './stored-file.js'

export { CHUNK_STRIDE, CHUNKS_FILE, StoredFile, type IoCounters } from './stored-file.js'

const log = logger('outpost:files:store')

/**
 * The files a node holds, whole or in part, under one directory (DATA/files). Chunks are
 * kept sealed with each file's key, so what is on disk reads as noise without the group
 * key that opens the message naming the file.
 */
export class FileStore {
  /** how chunks went to and from disk (see direct-io.ts) */
  readonly io: IoCounters = { directWrites: 0, cachedWrites: 0, directReads: 0, cachedReads: 0 }
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
    await writeFile(join(dir, CHUNKS_FILE), new Uint8Array(0))
    const file = new StoredFile(fileId, manifest, dir, new Bitmap(chunkCount(manifest.size, manifest.chunkSize)), { wanted, verified: false }, ALIGNED, this.io)
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
      const handle = await open(join(tmp, CHUNKS_FILE), 'w')
      let manifest: Manifest & { sha256: string }
      let index = 0
      try {
        // Through the page cache: members fetch a file just sent at once, read from there.
        manifest = await write(async sealed => { await handle.write(sealed, 0, sealed.byteLength, CHUNK_STRIDE * index++) })
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
      const file = new StoredFile(fileId, manifest, dir, have, meta, ALIGNED, this.io)
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
    const layout = await access(join(dir, PACKED_FILE)).then(() => PACKED, () => ALIGNED)
    return new StoredFile(fileId, manifest, dir, have, meta, layout, this.io)
  }
}
