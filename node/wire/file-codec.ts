import * as encoding from 'lib0/encoding'
import { Uint8ArrayList } from 'uint8arraylist'
import { FILE_WIRE_VERSION, MAX_FILE_FRAME_BYTES } from '../constants.js'
import { SafeReader } from './bytes.js'

/**
 * Frames of `/outpost/file/1`. The fetching side opens a stream to each source and asks
 * QUERY for a file; the source answers HAVE (the manifest and a bitmap of the chunks it
 * holds) or NONE (it holds nothing, or will not serve the asker). Then the fetching side
 * sends GETs, several in flight, and the source answers each, in order, with CHUNK or
 * MISSING. Layout: [version u8][type u8][body].
 */
export type FileFrame = QueryFrame | HaveFrame | NoneFrame | GetFrame | ChunkFrame | MissingFrame

export interface QueryFrame { type: 'query', fileId: string }
/** `have`: bit i (of byte i >> 3, from the low bit) set when chunk i is held */
export interface HaveFrame { type: 'have', fileId: string, manifest: Uint8Array, have: Uint8Array }
export interface NoneFrame { type: 'none', fileId: string }
export interface GetFrame { type: 'get', index: number }
/**
 * A chunk as stored: sealed with the file's key; the asker checks it against the manifest.
 * On the wire a chunk travels as the pieces it came in (a list), never joined into one
 * buffer: at hundreds of MB/s, each 1 MiB copy and allocation shows (test/bench/files.ts).
 */
export interface ChunkFrame { type: 'chunk', index: number, data: Uint8Array | Uint8ArrayList }
export interface MissingFrame { type: 'missing', index: number }

const TYPE_CODES = { query: 1, have: 2, none: 3, get: 4, chunk: 5, missing: 6 } as const
/** Chunk indexes: a file of the largest size has fewer chunks than this. */
const MAX_CHUNK_INDEX = 1 << 20
/** Version, type and two varints of at most 4 bytes each: the most a CHUNK header takes. */
const MAX_CHUNK_HEADER_BYTES = 2 + 4 + 4

/** A frame ready to send: a CHUNK as its header followed by the data itself, uncopied. */
export function encodeFileFrameList (frame: FileFrame): Uint8ArrayList {
  if (frame.type !== 'chunk') return new Uint8ArrayList(encodeFileFrame(frame))
  const e = encoding.createEncoder()
  encoding.writeUint8(e, FILE_WIRE_VERSION)
  encoding.writeUint8(e, TYPE_CODES.chunk)
  encoding.writeVarUint(e, frame.index)
  encoding.writeVarUint(e, frame.data.byteLength)
  return new Uint8ArrayList(encoding.toUint8Array(e), frame.data)
}

/** A frame in one buffer (for everything but bulk chunks, and for tests). */
export function encodeFileFrame (frame: FileFrame): Uint8Array {
  if (frame.type === 'chunk' && frame.data instanceof Uint8ArrayList) return encodeFileFrameList(frame).subarray()
  const e = encoding.createEncoder()
  encoding.writeUint8(e, FILE_WIRE_VERSION)
  encoding.writeUint8(e, TYPE_CODES[frame.type])
  switch (frame.type) {
    case 'query':
    case 'none':
      encoding.writeVarString(e, frame.fileId)
      break
    case 'have':
      encoding.writeVarString(e, frame.fileId)
      encoding.writeVarUint8Array(e, frame.manifest)
      encoding.writeVarUint8Array(e, frame.have)
      break
    case 'get':
    case 'missing':
      encoding.writeVarUint(e, frame.index)
      break
    case 'chunk':
      encoding.writeVarUint(e, frame.index)
      encoding.writeVarUint8Array(e, frame.data as Uint8Array)
      break
  }
  return encoding.toUint8Array(e)
}

/**
 * Decodes an untrusted frame as read off the stream; a CHUNK's data is then the list of
 * pieces it arrived in. Throws MalformedFrameError for anything not well formed.
 */
export function decodeFileFrame (input: Uint8Array | Uint8ArrayList): FileFrame {
  if (input instanceof Uint8Array) return decodeFrameBytes(input)
  const head = input.subarray(0, Math.min(input.byteLength, MAX_CHUNK_HEADER_BYTES))
  if (head[1] !== TYPE_CODES.chunk) return decodeFrameBytes(input.subarray())
  const r = new SafeReader(head, 'file frame')
  if (input.byteLength > MAX_FILE_FRAME_BYTES) r.fail(`${input.byteLength} bytes is over the limit`)
  const version = r.uint8()
  if (version !== FILE_WIRE_VERSION) r.fail(`unsupported version ${version}`)
  r.uint8()
  const index = r.varUint(MAX_CHUNK_INDEX)
  const length = r.varUint(MAX_FILE_FRAME_BYTES)
  if (r.position + length > input.byteLength) r.fail('truncated')
  if (r.position + length < input.byteLength) r.fail('trailing bytes')
  return { type: 'chunk', index, data: input.sublist(r.position) }
}

function decodeFrameBytes (bytes: Uint8Array): FileFrame {
  const r = new SafeReader(bytes, 'file frame')
  if (bytes.length > MAX_FILE_FRAME_BYTES) r.fail(`${bytes.length} bytes is over the limit`)
  const version = r.uint8()
  if (version !== FILE_WIRE_VERSION) r.fail(`unsupported version ${version}`)
  const code = r.uint8()
  let frame: FileFrame
  switch (code) {
    case TYPE_CODES.query:
      frame = { type: 'query', fileId: readFileId(r) }
      break
    case TYPE_CODES.none:
      frame = { type: 'none', fileId: readFileId(r) }
      break
    case TYPE_CODES.have:
      frame = { type: 'have', fileId: readFileId(r), manifest: r.bytesField(MAX_FILE_FRAME_BYTES), have: r.bytesField(MAX_CHUNK_INDEX / 8) }
      break
    case TYPE_CODES.get:
      frame = { type: 'get', index: r.varUint(MAX_CHUNK_INDEX) }
      break
    case TYPE_CODES.missing:
      frame = { type: 'missing', index: r.varUint(MAX_CHUNK_INDEX) }
      break
    case TYPE_CODES.chunk:
      frame = { type: 'chunk', index: r.varUint(MAX_CHUNK_INDEX), data: r.bytesField(MAX_FILE_FRAME_BYTES) }
      break
    default:
      return r.fail(`unknown frame type ${code}`)
  }
  r.end()
  return frame
}

function readFileId (r: SafeReader): string {
  const id = r.string(64)
  if (!/^[0-9a-f]{64}$/.test(id)) r.fail('bad file id')
  return id
}
