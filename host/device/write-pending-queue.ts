/**
 * A memory controller's write pending queue: lines that left the CPU caches and
 * wait to be written to the media, oldest first. When it is full, the oldest
 * line drains. A line queued twice drains twice, in order, so the newer copy wins.
 *
 * Lines are copied word by word: for 64 bytes out of shared memory that is far
 * cheaper in V8 than TypedArray.set on a fresh subarray.
 */
export class WritePendingQueue {
  private readonly data: Int32Array;
  private readonly lines: Int32Array;
  private readonly words: number;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    lineSize: number,
    /** The media, as 32-bit words; a drained line is copied there. */
    private readonly media: () => Int32Array,
  ) {
    this.words = lineSize / 4;
    this.data = new Int32Array(capacity * this.words);
    this.lines = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Queues a copy of line `line` of `source` (the pool, as 32-bit words). */
  push(line: number, source: Int32Array): void {
    if (this.count === this.capacity) this.drainOldest();
    const slot = (this.head + this.count) % this.capacity;
    const from = line * this.words;
    const to = slot * this.words;
    for (let i = 0; i < this.words; i++) this.data[to + i] = source[from + i];
    this.lines[slot] = line;
    this.count++;
  }

  private drainOldest(): void {
    const media = this.media();
    const from = this.head * this.words;
    const to = this.lines[this.head] * this.words;
    for (let i = 0; i < this.words; i++) media[to + i] = this.data[from + i];
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  /** Writes every queued line to the media (flush-hint write, or ADR at power failure). */
  drain(): number {
    const n = this.count;
    while (this.count > 0) this.drainOldest();
    return n;
  }

  /** The queued lines, oldest first, without draining them. */
  *entries(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.capacity;
      yield [this.lines[slot], new Uint8Array(this.data.buffer, slot * this.words * 4, this.words * 4)];
    }
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
