import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { MAX_FILE_NAME_LENGTH, type ChatMessage, type FileRef } from '../../crdt/index.js'
import { DEFAULT_MAX_FILE_BYTES, FILE_CHUNK_BYTES, MAX_FILE_BYTES_LIMIT, SEAL_OVERHEAD } from '../constants.js'
import { FileNotReadyError, FileTooLargeError, InvalidRequestError, UnknownFileError } from '../errors.js'
import type { FloodGuard } from '../flood-guard.js'
import type { Group, GroupRegistry } from '../groups.js'
import type { HistoryEntry } from '../node-types.js'
import { Download, type SourceStats, type Verdict } from './download.js'
import { FileServer } from './file-server.js'
import { FileStore, type StoredFile } from './file-store.js'
import { chunkMatches, openChunk, sealChunk, sha256, type Manifest } from './manifest.js'
import { cleanMime, mimeOf } from './mime.js'
import { canThumbnail, makeThumbnail } from './thumbnail.js'

const log = logger('outpost:files')

/** Progress events for one file at most this often (state changes always go out). */
const PROGRESS_EVERY_MS = 250

export interface FileServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>
  groups: Pick<GroupRegistry, 'list' | 'get' | 'require'>
  guard?: Pick<FloodGuard, 'rejected'>
  /** posts the message that carries a file (the node's conversations) */
  post: (groupId: string, text: string, options: { replyTo?: string, file: FileRef }) => Promise<HistoryEntry>
  /** throws unless this node may post in the group now (checked before a long import) */
  assertMayPost: (groupId: string) => void
}

export interface FileServiceInit {
  /** where files are kept (DATA/files) */
  dir: string
  /** the largest file this node sends or fetches, in bytes (default 4 GiB, at most 32 GiB) */
  maxFileBytes?: number
}

export interface SendFileOptions {
  /** the name the file is sent under (no path) */
  name: string
  /** the media type; default: from the name's extension */
  mime?: string
  /** the size, when known before reading (checked against the limit at once) */
  size?: number
  /** a caption */
  text?: string
  replyTo?: string
}

export type FileState = 'remote' | 'partial' | 'fetching' | 'waiting' | 'verifying' | 'complete' | 'failed'

/** A file as the API shows it: what it is, where it was posted, and how much of it is here. */
export interface FileStatus {
  fileId: string
  name: string
  size: number
  mime: string
  sha256: string
  groupId: string
  messageId: string
  /**
   * remote: nothing here; partial: some chunks here, not fetching; fetching; waiting: no
   * member that holds the missing chunks is reachable now; verifying; complete: the whole
   * file is here and matched its hash; failed (see error)
   */
  state: FileState
  chunks: { held: number, total: number }
  bytes: { held: number, total: number }
  /** bytes fetched by the current (or last) download of this run */
  fetchedBytes?: number
  sources?: SourceStats[]
  error?: string
}

interface Ref { groupId: string, messageId: string, file: FileRef }

/**
 * Files in conversations: sending (the file sealed chunk by chunk into the store, then a
 * post that carries its id, key and hash), fetching from every member that holds it (see
 * download.ts), serving what this node holds (file-server.ts), and dropping a file once
 * no message this node holds names it (deleted or expired). Emits 'progress' (FileStatus).
 */
export class FileService extends EventEmitter {
  readonly store: FileStore
  readonly server: FileServer
  readonly maxFileBytes: number
  /** fileId -> the messages that carry it, by "group/message" */
  private readonly refs = new Map<string, Map<string, Ref>>()
  private readonly fileOfMessage = new Map<string, string>()
  private readonly downloads = new Map<string, { download: Download, abort: AbortController, done: Promise<void> }>()
  /** the last download of a file that failed, and why */
  private readonly failures = new Map<string, string>()
  /** each file's last download of this run, for its sources and bytes fetched */
  private readonly lastDownload = new Map<string, Download>()
  private readonly lastProgress = new Map<string, number>()
  private readonly unwatch = new Map<string, () => void>()
  private started = false

  constructor (private readonly components: FileServiceComponents, init: FileServiceInit) {
    super()
    this.maxFileBytes = init.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
    if (!Number.isSafeInteger(this.maxFileBytes) || this.maxFileBytes < 1 || this.maxFileBytes > MAX_FILE_BYTES_LIMIT) {
      throw new InvalidRequestError(`the file size limit must be from 1 byte to ${formatBytes(MAX_FILE_BYTES_LIMIT)}`)
    }
    this.store = new FileStore(init.dir)
    this.server = new FileServer({
      libp2p: components.libp2p,
      store: this.store,
      mayServe: (peer, fileId) => this.isMemberFor(peer, fileId),
      guard: components.guard
    })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.store.open()
    for (const group of this.components.groups.list()) this.watch(group)
    for (const file of this.store.list()) {
      if (!this.refs.has(file.fileId)) {
        // Its messages were deleted or expired while this node was down.
        log('dropping file %s: no message names it any more', file.fileId)
        await this.store.remove(file.fileId)
      }
    }
    await this.server.start()
    // Downloads a restart cut short go on from where they were.
    for (const file of this.store.list()) if (file.wanted && !file.verified) this.startDownload(file.fileId)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const off of this.unwatch.values()) off()
    this.unwatch.clear()
    for (const d of this.downloads.values()) d.abort.abort()
    await Promise.allSettled([...this.downloads.values()].map(async d => { await d.done }))
    await this.server.stop()
    await this.store.close()
  }

  /** Follows a group's messages for the files they carry (the node calls it for groups added later). */
  watch (group: Group): void {
    const groupId = group.info.groupId
    if (this.unwatch.has(groupId)) return
    for (const m of group.doc.latest()) this.note(groupId, m)
    const offMessages = group.doc.onMessages(messages => { for (const m of messages) this.note(groupId, m) })
    const offRemoved = group.doc.onRemoved(ids => { for (const id of ids) this.drop(groupId, id) })
    this.unwatch.set(groupId, () => { offMessages(); offRemoved() })
  }

  /**
   * Sends a file into a group: reads `source` once, sealing it chunk by chunk into the store,
   * then posts the message that carries it. Resolves once the message is on disk.
   */
  async send (groupId: string, source: AsyncIterable<Uint8Array>, options: SendFileOptions): Promise<{ message: HistoryEntry, fileId: string }> {
    const name = checkFileName(options.name)
    const mime = cleanMime(options.mime) ?? mimeOf(name)
    if (options.size != null && options.size > this.maxFileBytes) throw this.tooLarge(name, options.size)
    this.components.groups.require(groupId)
    this.components.assertMayPost(groupId)
    const key = randomBytes(32)
    const plainHash = createHash('sha256')
    // An image small enough gets a thumbnail: keep its bytes while they pass.
    let image: Buffer[] | null = canThumbnail(mime, options.size ?? 0) ? [] : null
    let size = 0
    const stored = await this.store.importFile(async sink => {
      const hashes: Buffer[] = []
      const chunk = Buffer.allocUnsafe(FILE_CHUNK_BYTES)
      let filled = 0
      const seal = async (length: number): Promise<void> => {
        const sealed = sealChunk(key, hashes.length, chunk.subarray(0, length))
        hashes.push(sha256(sealed))
        await sink(sealed)
      }
      for await (const piece of source) {
        size += piece.length
        if (size > this.maxFileBytes) throw this.tooLarge(name, size)
        plainHash.update(piece)
        if (image != null) image = canThumbnail(mime, size) ? (image.push(Buffer.from(piece)), image) : null
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
      if (options.size != null && options.size !== size) throw new InvalidRequestError(`the file ended after ${size} of the ${options.size} bytes announced`)
      return { size, chunkSize: FILE_CHUNK_BYTES, hashes: Buffer.concat(hashes) } satisfies Manifest
    })
    try {
      const thumb = image != null ? await makeThumbnail(Buffer.concat(image)) : undefined
      const file: FileRef = {
        id: stored.fileId,
        name,
        size,
        mime,
        sha256: plainHash.digest('hex'),
        key: key.toString('base64'),
        ...(thumb != null ? { thumb: { mime: thumb.mime, width: thumb.width, height: thumb.height, data: thumb.data.toString('base64') } } : {})
      }
      const message = await this.components.post(groupId, options.text ?? '', { ...(options.replyTo != null ? { replyTo: options.replyTo } : {}), file })
      return { message, fileId: stored.fileId }
    } catch (err) {
      await this.store.remove(stored.fileId)
      throw err
    }
  }

  /** Starts fetching a file named in a message (no-op when here or under way); answers its status. */
  fetch (fileId: string): FileStatus {
    const ref = this.refOf(fileId)
    if (ref.file.size > this.maxFileBytes) throw this.tooLarge(ref.file.name, ref.file.size)
    if (this.store.get(fileId)?.verified !== true) this.startDownload(fileId)
    return this.status(fileId)
  }

  status (fileId: string): FileStatus {
    const ref = this.refOf(fileId)
    const stored = this.store.get(fileId)
    const running = this.downloads.get(fileId)?.download
    const last = running ?? this.lastDownload.get(fileId)
    const total = Math.ceil(ref.file.size / FILE_CHUNK_BYTES)
    const failure = this.failures.get(fileId)
    const state: FileState = stored?.verified === true
      ? 'complete'
      : running != null && running.state !== 'stopped' && running.state !== 'complete'
        ? running.state
        : failure != null ? 'failed' : stored != null ? 'partial' : 'remote'
    return {
      fileId,
      name: ref.file.name,
      size: ref.file.size,
      mime: ref.file.mime,
      sha256: ref.file.sha256,
      groupId: ref.groupId,
      messageId: ref.messageId,
      state,
      chunks: { held: stored?.have.count ?? 0, total },
      bytes: { held: stored?.bytesHeld ?? 0, total: ref.file.size },
      ...(last != null ? { fetchedBytes: last.fetchedBytes, sources: [...last.sources.values()].map(s => ({ ...s })) } : {}),
      ...(failure != null && state === 'failed' ? { error: failure } : {})
    }
  }

  /** The files named in a group's messages (or in every group), newest message last. */
  list (groupId?: string): FileStatus[] {
    if (groupId != null) this.components.groups.require(groupId)
    const ids = new Set<string>()
    for (const [fileId, refs] of this.refs) {
      if (groupId == null || [...refs.values()].some(r => r.groupId === groupId)) ids.add(fileId)
    }
    return [...ids].map(id => this.status(id))
  }

  /** The plain file, chunk by chunk; only once it is complete and verified. */
  content (fileId: string): { file: FileRef, chunks: AsyncGenerator<Uint8Array> } {
    const ref = this.refOf(fileId)
    const stored = this.store.get(fileId)
    if (stored?.verified !== true) throw new FileNotReadyError(`file ${fileId} is not on this node yet: fetch it first (POST /v1/files/${fileId}/fetch, or outpost file get)`)
    const key = Buffer.from(ref.file.key, 'base64')
    return { file: ref.file, chunks: plainChunks(stored, key) }
  }

  thumbnail (fileId: string): { mime: string, data: Buffer } {
    const thumb = this.refOf(fileId).file.thumb
    if (thumb == null) throw new UnknownFileError(`file ${fileId} has no thumbnail`)
    return { mime: thumb.mime, data: Buffer.from(thumb.data, 'base64') }
  }

  private startDownload (fileId: string): void {
    if (this.downloads.has(fileId) || !this.started) return
    this.failures.delete(fileId)
    const abort = new AbortController()
    const download = new Download({
      libp2p: this.components.libp2p,
      store: this.store,
      sources: () => this.sourcesFor(fileId),
      verify: async file => await this.verify(file),
      onProgress: d => { this.progress(fileId, d.state !== 'fetching') }
    }, fileId)
    const done = (async () => {
      try {
        await download.run(abort.signal)
        if (download.state === 'failed') this.failures.set(fileId, download.error ?? 'failed')
      } catch (err) {
        this.failures.set(fileId, (err as Error).message)
        log.error('download of %s failed: %s', fileId, (err as Error).message)
      } finally {
        this.downloads.delete(fileId)
        if (this.refs.has(fileId)) this.progress(fileId, true)
      }
    })()
    this.downloads.set(fileId, { download, abort, done })
    this.lastDownload.set(fileId, download)
    this.progress(fileId, true)
  }

  /**
   * Every chunk opened with the file's key, then the plain file against its sender's SHA-256.
   * Each chunk was checked against its hash as it arrived; damage on disk since then shows as
   * a seal that no longer opens (AES-GCM), so only such a chunk is hashed again: damaged, it
   * is fetched again; as sent, the sender lied. (Hashing every chunk again, and two new
   * buffers for each, made the verification twice as long: test/bench/files.ts.)
   */
  private async verify (file: StoredFile): Promise<Verdict> {
    const ref = this.refs.get(file.fileId)?.values().next().value
    if (ref == null) return 'mismatch'
    const key = Buffer.from(ref.file.key, 'base64')
    const hash = createHash('sha256')
    // The chunks are read one at a time, into one buffer.
    const buffer = Buffer.allocUnsafe(file.manifest.chunkSize + SEAL_OVERHEAD)
    let damaged = 0
    for (let i = 0; i < file.chunks; i++) {
      const sealed = await file.readChunk(i, buffer)
      const plain = openChunk(key, i, sealed)
      if (plain == null) {
        if (chunkMatches(file.manifest, i, sealed)) return 'mismatch'
        file.forget(i)
        damaged++
        continue
      }
      if (damaged === 0) hash.update(plain)
    }
    if (damaged > 0) {
      log.error('%d chunks of %s were damaged on disk; fetching them again', damaged, file.fileId)
      return 'refetch'
    }
    if (hash.digest('hex') !== ref.file.sha256 || file.manifest.size !== ref.file.size) return 'mismatch'
    await file.setMeta({ verified: true })
    return 'ok'
  }

  private progress (fileId: string, force: boolean): void {
    const now = Date.now()
    if (!force && now - (this.lastProgress.get(fileId) ?? 0) < PROGRESS_EVERY_MS) return
    this.lastProgress.set(fileId, now)
    try {
      this.emit('progress', this.status(fileId))
    } catch (err) {
      log('no progress for %s: %s', fileId, (err as Error).message)
    }
  }

  private note (groupId: string, m: ChatMessage): void {
    const key = `${groupId}/${m.id}`
    if (m.file == null || m.deleted) {
      this.drop(groupId, m.id)
      return
    }
    if (this.fileOfMessage.get(key) === m.file.id) return
    this.fileOfMessage.set(key, m.file.id)
    let refs = this.refs.get(m.file.id)
    if (refs == null) this.refs.set(m.file.id, refs = new Map())
    refs.set(key, { groupId, messageId: m.id, file: m.file })
  }

  /** A message is gone: so is its file, once no other message names it. */
  private drop (groupId: string, messageId: string): void {
    const key = `${groupId}/${messageId}`
    const fileId = this.fileOfMessage.get(key)
    if (fileId == null) return
    this.fileOfMessage.delete(key)
    const refs = this.refs.get(fileId)
    refs?.delete(key)
    if (refs != null && refs.size > 0) return
    this.refs.delete(fileId)
    this.failures.delete(fileId)
    this.lastProgress.delete(fileId)
    this.lastDownload.delete(fileId)
    const running = this.downloads.get(fileId)
    running?.abort.abort()
    ;(async () => {
      await running?.done
      await this.store.remove(fileId)
      log('file %s erased: no message names it any more', fileId)
    })().catch(err => { log.error('cannot erase file %s: %s', fileId, (err as Error).message) })
  }

  private refOf (fileId: string): Ref {
    const ref = this.refs.get(fileId)?.values().next().value
    if (ref == null) throw new UnknownFileError(`no message on this node carries file ${fileId}`)
    return ref
  }

  /** Whether `peer` is a member of a group where the file was posted. */
  private isMemberFor (peer: string, fileId: string): boolean {
    for (const ref of this.refs.get(fileId)?.values() ?? []) {
      if (this.components.groups.get(ref.groupId)?.doc.membership.role(peer) != null) return true
    }
    return false
  }

  private sourcesFor (fileId: string): PeerId[] {
    const peers = new Map<string, PeerId>()
    for (const c of this.components.libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      if (!peers.has(id) && this.isMemberFor(id, fileId)) peers.set(id, c.remotePeer)
    }
    return [...peers.values()]
  }

  private tooLarge (name: string, size: number): FileTooLargeError {
    return new FileTooLargeError(`${name} is ${formatBytes(size)}; this node sends and fetches files up to ${formatBytes(this.maxFileBytes)} (outpost start --max-file-size)`)
  }
}

async function * plainChunks (file: StoredFile, key: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < file.chunks; i++) {
    const plain = openChunk(key, i, await file.readChunk(i))
    if (plain == null) throw new FileNotReadyError(`chunk ${i} of file ${file.fileId} no longer opens (damaged on disk)`)
    yield plain
  }
}

function checkFileName (name: string): string {
  const base = typeof name === 'string' ? name.split(/[/\\]/).at(-1)?.trim() ?? '' : ''
  // eslint-disable-next-line no-control-regex
  if (base === '' || base === '.' || base === '..' || /[\x00-\x1f]/.test(base)) throw new InvalidRequestError('a file needs a name (without slashes or control characters)')
  if (base.length > MAX_FILE_NAME_LENGTH) throw new InvalidRequestError(`a file name may be ${MAX_FILE_NAME_LENGTH} characters at most`)
  return base
}

export function formatBytes (n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}
