/**
 * Keeps roughly the last `limit` bytes of a stream. Whole chunks are dropped from the front, so memory
 * stays bounded by `limit` plus one chunk however much a process writes.
 */
export class TailBuffer {
  private readonly limit: number
  private readonly chunks: Buffer[] = []
  private bytes = 0

  constructor (limit: number) {
    this.limit = limit
  }

  push (chunk: Buffer): void {
    this.chunks.push(chunk)
    this.bytes += chunk.length
    let first = this.chunks[0]
    while (first !== undefined && this.chunks.length > 1 && this.bytes - first.length >= this.limit) {
      this.chunks.shift()
      this.bytes -= first.length
      first = this.chunks[0]
    }
  }

  /** the last `limit` bytes as text; a character cut in half at the start decodes as U+FFFD */
  text (): string {
    const all = Buffer.concat(this.chunks, this.bytes)
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8')
  }
}
