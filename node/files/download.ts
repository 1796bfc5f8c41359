import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { FILE_MAX_CORRUPT_PER_SOURCE, FILE_PROTOCOL, FILE_REQUEST_TIMEOUT_MS, FILE_RETRY_MS, FILE_WINDOW, MAX_FILE_FRAME_BYTES } from '../constants.js'
import { FileStorageError, MalformedFrameError } from '../errors.js'
import { sleep } from '../sleep.js'
import { decodeFileFrame, encodeFileFrame, type FileFrame } from '../wire/file-codec.js'
import { Bitmap } from './bitmap.js'
import { Deadline } from './deadline.js'
import type { FileStore, StoredFile } from './file-store.js'
import { chunkCount, chunkMatches, decodeManifest, fileIdOf, type Manifest } from './manifest.js'

const log = logger('outpost:files:download')

export type DownloadState = 'fetching' | 'waiting' | 'verifying' | 'complete' | 'failed' | 'stopped'

/** What one source gave this download. */
export interface SourceStats {
  peerId: string
  chunks: number
  bytes: number
  /** chunks that did not match their hash (each fetched again elsewhere) */
  corrupt: number
  state: 'active' | 'idle' | 'dropped'
}

/** The whole file checked against its sender's description: ok, chunks to fetch again, or a lie. */
export type Verdict = 'ok' | 'refetch' | 'mismatch'

export interface DownloadComponents {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  store: FileStore
  /** the peers that may hold the file now: connected members of the groups it was posted in */
  sources: () => PeerId[]
  /** checks the complete file (every chunk, then the plain file's SHA-256) */
  verify: (file: StoredFile) => Promise<Verdict>
  onProgress: (download: Download) => void
}

interface Session {
  peer: PeerId
  stats: SourceStats
  stream: Stream
  lp: ReturnType<typeof lpStream>
  /** the chunks the source said it holds */
  have: Bitmap
  /** the manifest it sent (checked against the file id) */
  manifestBytes: Uint8Array
}

/**
 * Fetches one file from every source at once: each source gets its own stream with up to
 * FILE_WINDOW chunk requests in flight, and all of them take the lowest chunks nobody has
 * asked for yet. A chunk is kept only if it matches its hash in the manifest; one that does
 * not is asked of another source. What is kept is on disk at once, so a download stopped
 * at any point (a restart too) goes on from there.
 */
export class Download {
  state: DownloadState = 'fetching'
  error: string | undefined
  readonly sources = new Map<string, SourceStats>()
  /** bytes of chunks fetched (and kept) since this download started */
  fetchedBytes = 0
  readonly startedAt = Date.now()
  file: StoredFile | undefined
  private readonly inflight = new Set<number>()
  /** chunk -> sources not to ask for it again (they lacked it or sent it corrupt) */
  private readonly excluded = new Map<number, Set<string>>()
  /** the lowest chunk that may still be missing */
  private cursor = 0
  /** a chunk came in or went back to the pool */
  private readonly changed = new Wakeup()
  /** a peer connected (see nudge) */
  private readonly connected = new Wakeup()

  constructor (private readonly components: DownloadComponents, readonly fileId: string) {
    this.file = components.store.get(fileId)
  }

  /** Runs until the file is complete and verified, found to be false, or `signal` aborts. */
  async run (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const file = this.file
      if (file?.complete === true) {
        this.state = 'verifying'
        this.components.onProgress(this)
        const verdict = await this.components.verify(file)
        if (verdict === 'ok') {
          this.state = 'complete'
          this.components.onProgress(this)
          return
        }
        if (verdict === 'mismatch') {
          this.state = 'failed'
          this.error = 'the file does not match what its sender described (its SHA-256 differs); it was discarded'
          await this.components.store.remove(this.fileId)
          this.file = undefined
          this.components.onProgress(this)
          return
        }
        this.cursor = 0
        continue
      }
      const sessions = await this.openSources(new Set(), signal)
      try {
        if (this.file == null) await this.adoptManifest(sessions)
        if (this.file != null && sessions.some(s => this.pick(s) != null)) {
          const before = this.file.have.count
          await this.round(sessions, signal)
          // Sources that answer and then fail are asked again, but not in a tight loop.
          if (this.file.have.count === before && !this.file.complete) await sleep(FILE_RETRY_MS, signal, [this.connected])
          continue
        }
      } finally {
        for (const s of sessions) this.close(s)
      }
      if (this.state !== 'waiting') {
        this.state = 'waiting'
        this.components.onProgress(this)
      }
      await sleep(FILE_RETRY_MS, signal, [this.connected])
    }
    this.state = 'stopped'
  }

  /** A peer connected: a waiting download looks for sources at once, a running one adds it. */
  nudge (): void {
    this.connected.fire()
  }

  /**
   * Pulls from every session at once. Meanwhile, every FILE_RETRY_MS or when a peer
   * connects, sources that are not being pulled from (one that connected, or came back
   * after its connection dropped, or a partial holder that has more by now) are asked
   * again and join in: one lost connection must not leave a source out for the rest of
   * the file.
   */
  private async round (sessions: Session[], signal: AbortSignal): Promise<void> {
    const file = this.file as StoredFile
    this.state = 'fetching'
    this.components.onProgress(this)
    const active = new Map<string, Promise<void>>()
    // Every pull is awaited at the end, so a failing one (our disk) is never left unhandled.
    const pulls: Array<Promise<void>> = []
    const begin = (s: Session): void => {
      const key = s.peer.toString()
      const pulling = this.pull(s, signal).finally(() => { active.delete(key) })
      pulling.catch(() => {})
      active.set(key, pulling)
      pulls.push(pulling)
    }
    sessions.forEach(begin)
    while (active.size > 0 && !file.complete && !signal.aborted) {
      await sleep(FILE_RETRY_MS, signal, [this.connected], Promise.allSettled(active.values()))
      if (active.size === 0 || file.complete || signal.aborted) break
      for (const s of await this.openSources(new Set(active.keys()), signal)) {
        if (this.pick(s) == null) {
          this.close(s)
          continue
        }
        sessions.push(s)
        begin(s)
      }
    }
    await Promise.all(pulls)
  }

  /** Opens a session with every source not in `busy` that has the file. */
  private async openSources (busy: Set<string>, signal: AbortSignal): Promise<Session[]> {
    const peers = this.components.sources().filter(p => !busy.has(p.toString()))
    return (await Promise.all(peers.map(async peer => await this.open(peer, signal)))).filter(s => s != null)
  }

  /** The chunks held, for progress. */
  get held (): { chunks: number, total: number | undefined, bytes: number } {
    const f = this.file
    return { chunks: f?.have.count ?? 0, total: f?.chunks, bytes: f?.bytesHeld ?? 0 }
  }

  private async adoptManifest (sessions: Session[]): Promise<void> {
    const first = sessions[0]
    if (first != null) this.file = await this.components.store.create(this.fileId, first.manifestBytes, true)
  }

  private async open (peer: PeerId, signal: AbortSignal): Promise<Session | null> {
    const key = peer.toString()
    const stats = this.sources.get(key) ?? { peerId: key, chunks: 0, bytes: 0, corrupt: 0, state: 'idle' }
    if (stats.state === 'dropped') return null
    this.sources.set(key, stats)
    let stream: Stream | undefined
    try {
      // Once per source per round: AbortSignal.any is fine here.
      const timeout = AbortSignal.any([signal, AbortSignal.timeout(FILE_REQUEST_TIMEOUT_MS)])
      stream = await this.components.libp2p.dialProtocol(peer, FILE_PROTOCOL, { signal: timeout })
      // Room for every chunk in flight, so a slow disk here never overflows the read buffer.
      const lp = lpStream(stream, { maxDataLength: MAX_FILE_FRAME_BYTES, maxBufferSize: (FILE_WINDOW + 2) * MAX_FILE_FRAME_BYTES })
      await lp.write(encodeFileFrame({ type: 'query', fileId: this.fileId }), { signal: timeout })
      const answer = decodeFileFrame((await lp.read({ signal: timeout })).subarray())
      if (answer.type === 'none' && answer.fileId === this.fileId) {
        this.close({ stream })
        return null
      }
      if (answer.type !== 'have' || answer.fileId !== this.fileId) throw new MalformedFrameError(`expected have, got ${answer.type}`)
      if (fileIdOf(answer.manifest) !== this.fileId) throw new MalformedFrameError('a manifest that is not the file\'s')
      const manifest: Manifest = this.file?.manifest ?? decodeManifest(answer.manifest)
      return { peer, stats, stream, lp, have: new Bitmap(chunkCount(manifest.size, manifest.chunkSize), answer.have), manifestBytes: answer.manifest }
    } catch (err) {
      if (err instanceof MalformedFrameError) {
        stats.state = 'dropped'
        log.error('dropped %p as a source of %s: %s', peer, this.fileId, err.message)
      } else {
        log('cannot ask %p for %s: %s', peer, this.fileId, (err as Error).message)
      }
      if (stream != null) stream.abort(err as Error)
      return null
    }
  }

  /** Asks one source for chunks, FILE_WINDOW at a time, until nothing is left for it. */
  private async pull (s: Session, signal: AbortSignal): Promise<void> {
    const file = this.file as StoredFile
    const asked: number[] = []
    const deadline = new Deadline(signal, FILE_REQUEST_TIMEOUT_MS)
    s.stats.state = 'active'
    try {
      while (!signal.aborted && !file.complete) {
        while (asked.length < FILE_WINDOW) {
          const index = this.pick(s)
          if (index == null) break
          this.inflight.add(index)
          asked.push(index)
          await deadline.step('asking for a chunk', async signal => { await s.lp.write(encodeFileFrame({ type: 'get', index }), { signal }) })
        }
        if (asked.length === 0) {
          // Nothing for this source now; a chunk in flight elsewhere may come back to it.
          if (this.inflight.size === 0) break
          await sleep(FILE_RETRY_MS, signal, [this.changed])
          continue
        }
        const frame = decodeFileFrame((await deadline.step('waiting for a chunk', async signal => await s.lp.read({ signal }))))
        const index = asked.shift() as number
        await this.take(s, index, frame)
        this.inflight.delete(index)
        this.changed.fire()
      }
    } catch (err) {
      // Our own disk failing is no fault of the source: the whole download stops.
      if (err instanceof FileStorageError) throw err
      if (err instanceof MalformedFrameError) {
        s.stats.state = 'dropped'
        log.error('dropped %p as a source of %s: %s', s.peer, this.fileId, err.message)
      } else if (!signal.aborted) {
        log('source %p of %s failed: %s', s.peer, this.fileId, (err as Error).message)
      }
    } finally {
      deadline.close()
      for (const index of asked) this.inflight.delete(index)
      if (s.stats.state === 'active') s.stats.state = 'idle'
      this.changed.fire()
    }
  }

  private async take (s: Session, index: number, frame: FileFrame): Promise<void> {
    const file = this.file as StoredFile
    if ((frame.type !== 'chunk' && frame.type !== 'missing') || frame.index !== index) {
      throw new MalformedFrameError(`expected chunk ${index}, got ${frame.type}`)
    }
    if (frame.type === 'missing') {
      s.have.delete(index)
      return
    }
    if (!chunkMatches(file.manifest, index, frame.data)) {
      s.stats.corrupt++
      this.exclude(index, s.peer.toString())
      log.error('chunk %d of %s from %p does not match its hash; asking another source', index, this.fileId, s.peer)
      if (s.stats.corrupt >= FILE_MAX_CORRUPT_PER_SOURCE) throw new MalformedFrameError(`${s.stats.corrupt} corrupt chunks`)
      return
    }
    if (file.have.has(index)) return
    try {
      await file.writeChunk(index, frame.data)
    } catch (err) {
      throw new FileStorageError(`cannot write ${this.fileId} to disk: ${(err as Error).message}`)
    }
    s.stats.chunks++
    s.stats.bytes += frame.data.byteLength
    this.fetchedBytes += frame.data.byteLength
    this.components.onProgress(this)
  }

  /** The lowest chunk still missing that no one is fetching and this source may give. */
  private pick (s: Session): number | undefined {
    const file = this.file
    if (file == null) return undefined
    while (this.cursor < file.chunks && file.have.has(this.cursor)) this.cursor++
    const peer = s.peer.toString()
    for (let i = this.cursor; i < file.chunks; i++) {
      if (file.have.has(i) || this.inflight.has(i) || !s.have.has(i)) continue
      if (this.excluded.get(i)?.has(peer) === true) continue
      return i
    }
    return undefined
  }

  private exclude (index: number, peer: string): void {
    let set = this.excluded.get(index)
    if (set == null) this.excluded.set(index, set = new Set())
    set.add(peer)
  }

  private close (s: Pick<Session, 'stream'>): void {
    s.stream.close().catch(err => { s.stream.abort(err as Error) })
  }
}

/** Wakes whoever waits on it now; a waiter that stops waiting leaves nothing behind. */
class Wakeup {
  private readonly waiters = new Set<() => void>()

  fire (): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }

  wait (wake: () => void): () => void {
    this.waiters.add(wake)
    return () => { this.waiters.delete(wake) }
  }
}
