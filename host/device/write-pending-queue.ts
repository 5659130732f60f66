/**
 * A memory controller's write pending queue: lines that left the CPU caches and
 * wait to be written to the media, oldest first. When it is full, the oldest
 * lines drain. A line queued twice drains twice, in order, so the newer copy wins.
 *
 * Lines arrive and drain in runs of consecutive lines, each run moved with one
 * bulk copy: per-line copies out of shared memory are slow in V8.
 */
export class WritePendingQueue {
  private readonly data: Uint8Array;
  private readonly lines: Int32Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly lineSize: number,
    /** The media a drained line is written to. */
    private readonly media: () => Uint8Array,
  ) {
    this.data = new Uint8Array(capacity * lineSize);
    this.lines = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Queues copies of `count` consecutive lines from `first`, taken from `source` (the pool). */
  pushRun(first: number, count: number, source: Uint8Array): void {
    const size = this.lineSize;
    if (count > this.capacity) {
      // Lines that would be pushed out by later lines of the same run reach the media at once.
      const direct = count - this.capacity;
      this.media().set(source.subarray(first * size, (first + direct) * size), first * size);
      first += direct;
      count = this.capacity;
    }
    if (this.count + count > this.capacity) this.drainOldest(this.count + count - this.capacity);
    for (let done = 0; done < count; ) {
      const slot = (this.head + this.count) % this.capacity;
      const n = Math.min(count - done, this.capacity - slot);
      this.data.set(source.subarray((first + done) * size, (first + done + n) * size), slot * size);
      for (let i = 0; i < n; i++) this.lines[slot + i] = first + done + i;
      this.count += n;
      done += n;
    }
  }

  /** Writes the `n` oldest lines to the media, a run of consecutive lines at a time. */
  private drainOldest(n: number): void {
    const size = this.lineSize;
    const media = this.media();
    while (n > 0) {
      let run = 1;
      const line = this.lines[this.head];
      while (run < n && this.head + run < this.capacity && this.lines[this.head + run] === line + run) run++;
      media.set(this.data.subarray(this.head * size, (this.head + run) * size), line * size);
      this.head = (this.head + run) % this.capacity;
      this.count -= run;
      n -= run;
    }
  }

  /** Writes every queued line to the media (flush-hint write, or ADR at power failure). */
  drain(): number {
    const n = this.count;
    this.drainOldest(n);
    return n;
  }

  /** The queued lines, oldest first, without draining them. */
  *entries(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.capacity;
      yield [this.lines[slot], this.data.subarray(slot * this.lineSize, (slot + 1) * this.lineSize)];
    }
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
