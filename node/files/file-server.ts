import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { FILE_PROTOCOL, FILE_REQUEST_TIMEOUT_MS, MAX_FILE_FRAME_BYTES } from '../constants.js'
import { MalformedFrameError } from '../errors.js'
import type { FloodGuard } from '../flood-guard.js'
import { decodeFileFrame, encodeFileFrameList, type FileFrame } from '../wire/file-codec.js'
import { Deadline } from './deadline.js'
import { encodeManifest } from './manifest.js'
import type { FileStore, StoredFile } from './file-store.js'

const log = logger('outpost:files:server')

export interface FileServerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  store: FileStore
  /** whether `peer` may have the file: it is a member of a group where it was posted */
  mayServe: (peer: string, fileId: string) => boolean
  guard?: Pick<FloodGuard, 'rejected'>
}

export interface FileServerStats {
  sessions: number
  chunksServed: number
  bytesServed: number
  refused: number
  framesRejected: number
}

/** Serving side of `/outpost/file/1`: answers QUERY and GETs for the files this node holds. */
export class FileServer {
  readonly stats: FileServerStats = { sessions: 0, chunksServed: 0, bytesServed: 0, refused: 0, framesRejected: 0 }
  private shutdown = new AbortController()
  private started = false

  constructor (private readonly components: FileServerComponents) {}

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    await this.components.libp2p.handle(FILE_PROTOCOL, (stream, connection) => {
      this.serve(stream, connection.remotePeer).catch(() => {})
    }, { maxInboundStreams: 16 })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort()
    await this.components.libp2p.unhandle(FILE_PROTOCOL)
  }

  private async serve (stream: Stream, peer: PeerId): Promise<void> {
    this.stats.sessions++
    const lp = lpStream(stream, { maxDataLength: MAX_FILE_FRAME_BYTES })
    const deadline = new Deadline(this.shutdown.signal, FILE_REQUEST_TIMEOUT_MS)
    const send = async (frame: FileFrame): Promise<void> => { await deadline.step('sending', async signal => { await lp.write(encodeFileFrameList(frame), { signal }) }) }
    let file: StoredFile | undefined
    try {
      while (true) {
        // The asker half-closes when it has all it wanted.
        if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) break
        const frame = decodeFileFrame((await deadline.step('waiting for a request', async signal => await lp.read({ signal }))))
        if (frame.type === 'query') {
          file = this.components.store.get(frame.fileId)
          if (file != null && !this.components.mayServe(peer.toString(), frame.fileId)) {
            this.stats.refused++
            log('refused file %s to %p: not a member of a group it was posted in', frame.fileId, peer)
            file = undefined
          }
          await send(file == null
            ? { type: 'none', fileId: frame.fileId }
            : { type: 'have', fileId: frame.fileId, manifest: encodeManifest(file.manifest), have: file.have.bytes })
        } else if (frame.type === 'get') {
          if (file == null) throw new MalformedFrameError('a chunk asked for before a file was')
          if (!file.have.has(frame.index)) {
            await send({ type: 'missing', index: frame.index })
            continue
          }
          const data = await file.readChunk(frame.index)
          this.stats.chunksServed++
          this.stats.bytesServed += data.length
          await send({ type: 'chunk', index: frame.index, data })
        } else {
          throw new MalformedFrameError(`unexpected ${frame.type} frame`)
        }
      }
      await deadline.step('closing', async signal => { await stream.close({ signal }) })
    } catch (err) {
      if (err instanceof MalformedFrameError) {
        this.stats.framesRejected++
        this.components.guard?.rejected(peer)
        log.error('dropped malformed file frame from %p: %s', peer, err.message)
      } else if (stream.remoteWriteStatus === 'writable') {
        log('file session with %p ended: %s', peer, (err as Error).message)
      }
      stream.abort(err as Error)
    } finally {
      deadline.close()
    }
  }
}
