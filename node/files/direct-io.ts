import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { logger } from '@libp2p/logger'

const log = logger('outpost:files:direct-io')

/**
 * Reads and writes that bypass the page cache (O_DIRECT), for the chunks a download
 * receives and for reading a file whole (to verify or open it).
 *
 * Why: a received file is written once and not read again until it is verified or
 * opened, and then read once, so caching it buys little, and filling fresh page-cache pages
 * is what a fetch pays most for after the network itself. On the project's VM, 256 MiB written through the
 * page cache cost 0.5 to 1 CPU-second of kernel time (every page newly backed by the host),
 * against 0.05 s written directly (`node dist/test/bench/run.js --only files`).
 *
 * O_DIRECT asks for the buffer's address, the file offset and the length to be multiples
 * of the device's block size. Offsets and lengths are the caller's (DIRECT_ALIGN-aligned
 * chunk slots); the buffers come from here: a WebAssembly memory starts on a page boundary,
 * which a Node Buffer does not. Where the file system refuses O_DIRECT (or the platform has
 * none), the caller writes through the page cache as before.
 */

/** Offsets, lengths and buffer addresses of direct writes are multiples of this. */
export const DIRECT_ALIGN = 4096
const WASM_PAGE = 64 * 1024

export const alignUp = (n: number): number => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN

/** Opens `path` (existing) for direct reads and writes, or answers null where that is not possible. */
export async function openDirect (path: string): Promise<FileHandle | null> {
  const flag = (constants as { O_DIRECT?: number }).O_DIRECT
  if (flag == null) return null
  try {
    return await open(path, constants.O_RDWR | flag)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // Refused by the file system (tmpfs on older kernels, some FUSE mounts): not an error.
    if (code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') {
      log('no direct writes for %s (%s); writing through the page cache', path, code)
      return null
    }
    throw err
  }
}

/**
 * A fixed set of page-aligned buffers of `bytes` each, lent out and given back. Nobody
 * waits for one: a caller that finds too few free does its I/O through the page cache, so
 * a slow reader holding buffers never holds up a download. The memory is reserved once
 * and never grown (growing a WebAssembly memory would detach the buffers already lent).
 */
export class AlignedBuffers {
  private readonly free: Buffer[] = []

  constructor (readonly bytes: number, count: number) {
    const size = alignUp(bytes)
    const memory = new WebAssembly.Memory({ initial: Math.ceil(size * count / WASM_PAGE) })
    for (let i = 0; i < count; i++) this.free.push(Buffer.from(memory.buffer, i * size, size))
  }

  /** `count` buffers now, or none when fewer are free. */
  tryTake (count: number): Buffer[] | undefined {
    return this.free.length >= count ? this.free.splice(-count) : undefined
  }

  give (buffer: Buffer): void {
    this.free.push(buffer)
  }
}
