/**
 * A memory controller's write pending queue: lines that left the CPU caches and
 * wait to be written to the media. When it overflows, the oldest line drains.
 */
export class WritePendingQueue {
  private readonly lines = new Map<number, Uint8Array>();

  constructor(
    readonly capacity: number,
    private readonly writeToMedia: (line: number, bytes: Uint8Array) => void,
  ) {}

  get size(): number {
    return this.lines.size;
  }

  push(line: number, bytes: Uint8Array): void {
    this.lines.delete(line); // a newer write-back of the same line replaces the queued one
    this.lines.set(line, bytes);
    if (this.lines.size > this.capacity) {
      const [oldest, oldestBytes] = this.lines.entries().next().value as [number, Uint8Array];
      this.lines.delete(oldest);
      this.writeToMedia(oldest, oldestBytes);
    }
  }

  /** Writes every queued line to the media (flush-hint write, or ADR at power failure). */
  drain(): number {
    const n = this.lines.size;
    for (const [line, bytes] of this.lines) this.writeToMedia(line, bytes);
    this.lines.clear();
    return n;
  }

  /** The queued lines, oldest first, without draining them. */
  entries(): IterableIterator<[number, Uint8Array]> {
    return this.lines.entries();
  }

  clear(): void {
    this.lines.clear();
  }
}
