/**
 * Task ids: UUIDs of version 7 (RFC 9562), a 48-bit Unix time in milliseconds followed by random
 * bits, so ids sort by submission time as strings. The journal's primary key is the id: random
 * (version 4) ids put every new row on a random page of its index, and a commit of a burst of
 * submissions rewrote one page per task; time-ordered ids append to the same few pages. Ids made
 * in the same millisecond by one node stay in order through a 12-bit counter (`rand_a`, the
 * RFC's "fixed bit-length dedicated counter", method 1), started at a random value below 2^11.
 */
import { randomFillSync } from 'node:crypto'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export class TaskIdGenerator {
  private lastMs = -1
  private counter = 0
  private readonly pool = new Uint8Array(8 * 256)
  private poolPos = this.pool.length

  constructor (private readonly now: () => number = Date.now, private readonly fill: (buf: Uint8Array) => void = (b) => { randomFillSync(b) }) {}

  next (): string {
    let ms = Math.max(this.now(), this.lastMs)
    if (ms === this.lastMs) {
      this.counter++
      // 4096 ids in one millisecond: borrow the next millisecond rather than break the order
      if (this.counter > 0xfff) { ms++; this.counter = this.randomCounter() }
    } else {
      this.counter = this.randomCounter()
    }
    this.lastMs = ms
    const r = this.random8()
    const b = new Uint8Array(16)
    // 48-bit big-endian milliseconds (2^48 ms is the year 10889: Number arithmetic is exact)
    const hi = Math.floor(ms / 2 ** 16)
    b[0] = (hi >>> 24) & 0xff
    b[1] = (hi >>> 16) & 0xff
    b[2] = (hi >>> 8) & 0xff
    b[3] = hi & 0xff
    b[4] = (ms >>> 8) & 0xff
    b[5] = ms & 0xff
    b[6] = 0x70 | (this.counter >>> 8)
    b[7] = this.counter & 0xff
    b[8] = 0x80 | ((r[0] as number) & 0x3f)
    for (let i = 1; i < 8; i++) b[8 + i] = r[i] as number
    return `${h(b, 0, 4)}-${h(b, 4, 6)}-${h(b, 6, 8)}-${h(b, 8, 10)}-${h(b, 10, 16)}`
  }

  private randomCounter (): number {
    return ((this.random8()[0] as number) << 3) & 0x7ff
  }

  private random8 (): Uint8Array {
    if (this.poolPos + 8 > this.pool.length) {
      this.fill(this.pool)
      this.poolPos = 0
    }
    const out = this.pool.subarray(this.poolPos, this.poolPos + 8)
    this.poolPos += 8
    return out
  }
}

function h (b: Uint8Array, from: number, to: number): string {
  let s = ''
  for (let i = from; i < to; i++) s += HEX[b[i] as number] as string
  return s
}
