/**
 * A memory controller's write pending queue: lines that left the CPU caches and
 * wait to be written to the media, oldest first. When it is full, the oldest
 * lines drain. A line queued twice drains twice, in order, so the newer copy wins.
 *
 * The queue's slots live in the core's linear memory, next to the pool and the
 * media, and lines arrive and drain in runs of consecutive lines, each run moved
 * with one `memory.copy` inside Wasm: copies between views of shared memory are
 * several times slower in V8.
 */
export interface LinearMemory {
  /** The whole linear memory (it does not grow while a pool is open). */
  bytes(): Uint8Array;
  /** Copies `length` bytes between linear addresses, inside Wasm. */
  copy(dst: number, src: number, length: number): void;
}

export class WritePendingQueue {
  /** Queued runs of consecutive lines, oldest first, in a ring: first line and length. A run's slots never wrap. */
  private readonly runLines: Int32Array;
  private readonly runLengths: Int32Array;
  private firstRun = 0;
  private runs = 0;
  /** The slot of the oldest queued line, and how many lines are queued. */
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly lineSize: number,
    private readonly memory: LinearMemory,
    /** Linear addresses: the queue's own slots, the pool (where lines come from) and the media (where they drain to). */
    private readonly slotsAt: number,
    private readonly poolAt: number,
    private readonly mediaAt: number,
  ) {
    this.runLines = new Int32Array(capacity);
    this.runLengths = new Int32Array(capacity);
  }

  /** Linear memory the queues of `controllers` controllers take. */
  static bytes(controllers: number, capacity: number, lineSize: number): number {
    return controllers * capacity * lineSize;
  }

  get size(): number {
    return this.count;
  }

  /** Queues copies of `count` consecutive pool lines from `first`. */
  pushRun(first: number, count: number): void {
    const size = this.lineSize;
    if (count > this.capacity) {
      // Lines that would be pushed out by later lines of the same run reach the media at once,
      // after every older queued line (an older copy of one of them must not drain over it later).
      this.drainOldest(this.count);
      const direct = count - this.capacity;
      this.memory.copy(this.mediaAt + first * size, this.poolAt + first * size, direct * size);
      first += direct;
      count = this.capacity;
    }
    if (this.count + count > this.capacity) this.drainOldest(this.count + count - this.capacity);
    for (let done = 0; done < count; ) {
      const slot = (this.head + this.count) % this.capacity;
      const n = Math.min(count - done, this.capacity - slot);
      this.memory.copy(this.slotsAt + slot * size, this.poolAt + (first + done) * size, n * size);
      const run = (this.firstRun + this.runs++) % this.capacity;
      this.runLines[run] = first + done;
      this.runLengths[run] = n;
      this.count += n;
      done += n;
    }
  }

  /** Writes the `n` oldest lines to the media, a run of consecutive lines at a time. */
  private drainOldest(n: number): void {
    const size = this.lineSize;
    while (n > 0) {
      const run = this.firstRun;
      const line = this.runLines[run];
      const taken = Math.min(n, this.runLengths[run]);
      this.memory.copy(this.mediaAt + line * size, this.slotsAt + this.head * size, taken * size);
      if (taken === this.runLengths[run]) {
        this.firstRun = (run + 1) % this.capacity;
        this.runs--;
      } else {
        this.runLines[run] += taken;
        this.runLengths[run] -= taken;
      }
      this.head = (this.head + taken) % this.capacity;
      this.count -= taken;
      n -= taken;
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
    const bytes = this.memory.bytes();
    let slot = this.head;
    for (let i = 0; i < this.runs; i++) {
      const run = (this.firstRun + i) % this.capacity;
      for (let line = 0; line < this.runLengths[run]; line++, slot = (slot + 1) % this.capacity) {
        const at = this.slotsAt + slot * this.lineSize;
        yield [this.runLines[run] + line, bytes.subarray(at, at + this.lineSize)];
      }
    }
  }

  clear(): void {
    this.firstRun = 0;
    this.runs = 0;
    this.head = 0;
    this.count = 0;
  }
}
