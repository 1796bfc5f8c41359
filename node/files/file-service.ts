import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { MAX_FILE_NAME_LENGTH, type FileRef } from '../../crdt/index.js'
import { DEFAULT_MAX_FILE_BYTES, FILE_CHUNK_BYTES, MAX_FILE_BYTES_LIMIT } from '../constants.js'
import { FileNotReadyError, FileTooLargeError, InvalidRequestError, UnknownFileError } from '../errors.js'
import type { FloodGuard } from '../flood-guard.js'
import { formatBytes } from '../format.js'
import type { Group, GroupRegistry } from '../groups.js'
import type { HistoryEntry } from '../node-types.js'
import { Download, type SourceStats, type Verdict } from './download.js'
import { FileServer } from './file-server.js'
import { FileStore, type StoredFile } from './file-store.js'
import { FileCatalog, type FileMention } from './catalog.js'
import { chunkHash, openChunk, sha256 } from './manifest.js'
import { cleanMime, mimeOf } from './mime.js'
import { sealSource, type SealedSource } from './seal-source.js'
import { canThumbnail, makeThumbnail, MAX_THUMBNAIL_SOURCE_BYTES } from './thumbnail.js'

const log = logger('outpost:files')

/** Progress events for one file at most this often (state changes always go out). */
const PROGRESS_EVERY_MS = 250

export interface FileServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
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
  private readonly catalog = new FileCatalog()
  private readonly downloads = new Map<string, { download: Download, abort: AbortController, done: Promise<void> }>()
  /** the last download of a file that failed, and why */
  private readonly failures = new Map<string, string>()
  /** each file's last download of this run, for its sources and bytes fetched */
  private readonly lastDownload = new Map<string, Download>()
  private readonly lastProgress = new Map<string, number>()
  private readonly unwatch = new Map<string, () => void>()
  private started = false
  /** a peer connected: downloads waiting for a source look again at once */
  private readonly onConnect = (): void => { for (const d of this.downloads.values()) d.download.nudge() }

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
      if (!this.catalog.has(file.fileId)) {
        // Its messages were deleted or expired while this node was down.
        log('dropping file %s: no message names it any more', file.fileId)
        await this.store.remove(file.fileId)
      }
    }
    await this.server.start()
    this.components.libp2p.addEventListener('peer:connect', this.onConnect)
    // Downloads a restart cut short go on from where they were.
    for (const file of this.store.list()) if (file.wanted && !file.verified) this.startDownload(file.fileId)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.libp2p.removeEventListener('peer:connect', this.onConnect)
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
    for (const m of group.doc.latest()) this.forget(this.catalog.note(groupId, m))
    const offMessages = group.doc.onMessages(messages => { for (const m of messages) this.forget(this.catalog.note(groupId, m)) })
    const offRemoved = group.doc.onRemoved(ids => { for (const id of ids) this.forget(this.catalog.drop(groupId, id)) })
    this.unwatch.set(groupId, () => { offMessages(); offRemoved() })
  }

  /**
   * Sends a file into a group: reads `source` once, sealing it chunk by chunk into the store,
   * then posts the message that carries it. Resolves once the message is on disk.
   */
  async send (groupId: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: SendFileOptions): Promise<{ message: HistoryEntry, fileId: string }> {
    const name = checkFileName(options.name)
    const mime = cleanMime(options.mime) ?? mimeOf(name)
    if (options.size != null && options.size > this.maxFileBytes) throw this.tooLarge(name, options.size)
    this.components.groups.require(groupId)
    this.components.assertMayPost(groupId)
    const key = randomBytes(32)
    let sealed: SealedSource | undefined
    const stored = await this.store.importFile(async sink => {
      sealed = await sealSource(source, key, {
        maxBytes: this.maxFileBytes,
        tooLarge: size => this.tooLarge(name, size),
        // An image small enough gets a thumbnail: keep its bytes while they pass.
        ...(canThumbnail(mime, options.size ?? 0) ? { keepUpTo: MAX_THUMBNAIL_SOURCE_BYTES } : {})
      }, sink)
      if (options.size != null && options.size !== sealed.size) throw new InvalidRequestError(`the file ended after ${sealed.size} of the ${options.size} bytes announced`)
      return sealed
    })
    const { size, sha256: plainDigest, kept } = sealed as SealedSource
    try {
      const thumb = kept != null && canThumbnail(mime, size) ? await makeThumbnail(kept) : undefined
      const file: FileRef = {
        id: stored.fileId,
        name,
        size,
        mime,
        sha256: plainDigest,
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
    const stored = this.store.get(fileId)
    // Once verified, the file is shown as the messages that describe it truly show it.
    const ref = this.catalog.of(fileId).find(r => stored?.sha256 != null && r.file.sha256 === stored.sha256) ?? this.refOf(fileId)
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
    return this.catalog.fileIds(groupId).map(id => this.status(id))
  }

  /** The plain file, chunk by chunk; only once it is complete and verified. */
  content (fileId: string): { file: FileRef, chunks: AsyncGenerator<Uint8Array> } {
    const ref = this.refOf(fileId)
    const stored = this.store.get(fileId)
    if (stored?.verified !== true) throw new FileNotReadyError(`file ${fileId} is not on this node yet: fetch it first (POST /v1/files/${fileId}/fetch, or outpost file get)`)
    // The messages that describe the file as verified; their key opens it.
    const described = this.catalog.of(fileId).filter(r => r.file.sha256 === stored.sha256)
    return { file: (described[0] ?? ref).file, chunks: plainChunks(stored, described.map(r => r.file.key)) }
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
        if (this.catalog.has(fileId)) this.progress(fileId, true)
      }
    })()
    this.downloads.set(fileId, { download, abort, done })
    this.lastDownload.set(fileId, download)
    this.progress(fileId, true)
  }

  /**
   * Every chunk against its hash, then the plain file against its sender's SHA-256. Any
   * member may post a message naming a file id, with any key and hash: the file counts as
   * the one a message describes when that message's key opens it and its hash is the
   * file's, so a false description cannot get a true file thrown away.
   */
  private async verify (file: StoredFile): Promise<Verdict> {
    const refs = this.catalog.of(file.fileId).filter(r => r.file.size === file.manifest.size)
    if (refs.length === 0) return 'mismatch'
    const hash = createHash('sha256')
    let key: Buffer | undefined
    let damaged = 0
    let i = -1
    for await (const sealed of file.readChunks()) {
      i++
      let plain: Uint8Array | null
      if (i === 0) {
        // The key is the one of the messages' keys that opens chunk 0.
        const first = openFirst(refs.map(r => r.file.key), sealed)
        if (first == null) return 'mismatch'
        ;({ key, plain } = first)
      } else {
        // AES-GCM authenticates each chunk as it opens, so a chunk damaged on disk since it
        // was checked on arrival fails here; its hash then tells damage (fetch it again)
        // from a key that does not fit (a false description).
        plain = openChunk(key as Uint8Array, i, sealed)
      }
      if (plain == null) {
        if (sha256(sealed).equals(chunkHash(file.manifest, i))) return 'mismatch'
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
    const digest = hash.digest('hex')
    if (!refs.some(r => r.file.sha256 === digest && (key == null || Buffer.from(r.file.key, 'base64').equals(key)))) return 'mismatch'
    await file.setMeta({ verified: true, sha256: digest })
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

  /** No message names the file any more: stop fetching it and erase it from the disk. */
  private forget (fileId: string | undefined): void {
    if (fileId == null) return
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

  private refOf (fileId: string): FileMention {
    const ref = this.catalog.of(fileId)[0]
    if (ref == null) throw new UnknownFileError(`no message on this node carries file ${fileId}`)
    return ref
  }

  /** Whether `peer` is a member of a group where the file was posted. */
  private isMemberFor (peer: string, fileId: string): boolean {
    for (const ref of this.catalog.of(fileId)) {
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

/** The first of `keys` (base64) that opens chunk 0, and what it opens to. */
function openFirst (keys: string[], chunk0: Uint8Array): { key: Buffer, plain: Uint8Array } | undefined {
  for (const text of new Set(keys)) {
    const key = Buffer.from(text, 'base64')
    const plain = openChunk(key, 0, chunk0)
    if (plain != null) return { key, plain }
  }
  return undefined
}

async function * plainChunks (file: StoredFile, keys: string[]): AsyncGenerator<Uint8Array> {
  let key: Buffer | undefined
  let i = 0
  for await (const sealed of file.readChunks()) {
    if (i === 0) {
      const first = openFirst(keys, sealed)
      if (first == null) throw new FileNotReadyError(`file ${file.fileId} no longer opens (damaged on disk)`)
      key = first.key
      yield first.plain
    } else {
      const plain = openChunk(key as Buffer, i, sealed)
      if (plain == null) throw new FileNotReadyError(`chunk ${i} of file ${file.fileId} no longer opens (damaged on disk)`)
      yield plain
    }
    i++
  }
}

function checkFileName (name: string): string {
  const base = typeof name === 'string' ? name.split(/[/\\]/).at(-1)?.trim() ?? '' : ''
  // eslint-disable-next-line no-control-regex
  if (base === '' || base === '.' || base === '..' || /[\x00-\x1f]/.test(base)) throw new InvalidRequestError('a file needs a name (without slashes or control characters)')
  if (base.length > MAX_FILE_NAME_LENGTH) throw new InvalidRequestError(`a file name may be ${MAX_FILE_NAME_LENGTH} characters at most`)
  return base
}
