/** Which chunks of a file are held: bit i of byte i >> 3, from the low bit (as on the wire). */
export class Bitmap {
  readonly bytes: Uint8Array
  private set = 0

  constructor (readonly size: number, bytes?: Uint8Array) {
    this.bytes = new Uint8Array(Math.ceil(size / 8))
    if (bytes != null) {
      this.bytes.set(bytes.subarray(0, this.bytes.length))
      // Bits past the end say nothing.
      if (size % 8 !== 0 && this.bytes.length > 0) this.bytes[this.bytes.length - 1] &= (1 << (size % 8)) - 1
      for (let i = 0; i < size; i++) if (this.has(i)) this.set++
    }
  }

  has (i: number): boolean {
    return i >= 0 && i < this.size && (this.bytes[i >> 3] & (1 << (i & 7))) !== 0
  }

  add (i: number): void {
    if (this.has(i) || i < 0 || i >= this.size) return
    this.bytes[i >> 3] |= 1 << (i & 7)
    this.set++
  }

  delete (i: number): void {
    if (!this.has(i)) return
    this.bytes[i >> 3] &= ~(1 << (i & 7))
    this.set--
  }

  get count (): number { return this.set }
  get full (): boolean { return this.set === this.size }
}
