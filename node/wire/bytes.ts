import * as decoding from 'lib0/decoding'
import { MalformedFrameError } from '../errors.js'

/**
 * Reads from an untrusted buffer. lib0's decoder does not check bounds on every read; these
 * helpers do, so that a truncated or hostile frame turns into MalformedFrameError and
 * nothing else.
 */
export class SafeReader {
  private readonly decoder: decoding.Decoder

  constructor (readonly bytes: Uint8Array, private readonly what: string) {
    this.decoder = decoding.createDecoder(bytes)
  }

  fail (why: string): never {
    throw new MalformedFrameError(`${this.what}: ${why}`)
  }

  uint8 (): number {
    if (this.decoder.pos >= this.bytes.length) this.fail('truncated')
    return decoding.readUint8(this.decoder)
  }

  varUint (max = Number.MAX_SAFE_INTEGER): number {
    const n = this.guard(() => decoding.readVarUint(this.decoder))
    if (!Number.isSafeInteger(n) || n < 0 || n > max) this.fail(`number ${n} out of range`)
    return n
  }

  bytesField (maxLength: number): Uint8Array {
    const length = this.varUint(maxLength)
    if (this.decoder.pos + length > this.bytes.length) this.fail('truncated')
    return this.guard(() => decoding.readUint8Array(this.decoder, length))
  }

  string (maxBytes: number): string {
    const raw = this.bytesField(maxBytes)
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw)
    } catch {
      this.fail('invalid UTF-8')
    }
  }

  /** How many bytes have been read. */
  get position (): number {
    return this.decoder.pos
  }

  end (): void {
    if (this.decoder.pos !== this.bytes.length) this.fail('trailing bytes')
  }

  private guard<T> (read: () => T): T {
    try {
      return read()
    } catch (err) {
      if (err instanceof MalformedFrameError) throw err
      this.fail((err as Error).message ?? 'undecodable')
    }
  }
}
