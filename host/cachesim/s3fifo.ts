// An S3-FIFO cache simulator (Yang et al., SOSP'23), with libCacheSim's
// semantics as measured in shared/traces/REFERENCE.md: a small FIFO of 10% of
// the capacity that new objects enter, a main FIFO run as a Clock with 2-bit
// counters, and a ghost FIFO of 90% of the capacity holding evicted keys only.
// The small FIFO may use space the main FIFO has not filled yet; a small queue
// of one object admits nothing.

import type { CachePolicy } from './trace.js';

/** A FIFO of keys with removal anywhere (lazily: a removed key's queue entry is skipped). */
class KeyFifo {
  private queue: number[] = [];
  private head = 0;
  private readonly live = new Map<number, number>(); // key -> sequence number of its live queue entry
  private sequence = 0;

  get size(): number {
    return this.live.size;
  }
  has(key: number): boolean {
    return this.live.has(key);
  }
  push(key: number): void {
    this.live.set(key, ++this.sequence);
    this.queue.push(key, this.sequence);
  }
  delete(key: number): boolean {
    return this.live.delete(key);
  }
  /** Removes and returns the oldest live key. */
  shift(): number {
    for (;;) {
      const key = this.queue[this.head];
      const sequence = this.queue[this.head + 1];
      this.head += 2;
      if (this.head > 1 << 20) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.live.get(key) === sequence) {
        this.live.delete(key);
        return key;
      }
    }
  }
}

export class S3FifoSimulator implements CachePolicy {
  private readonly smallCapacity: number;
  private readonly mainCapacity: number;
  private readonly ghostCapacity: number;
  private readonly small = new KeyFifo();
  private readonly main = new KeyFifo();
  private readonly ghost = new KeyFifo();
  private readonly freq = new Map<number, number>(); // key -> access count, for cached keys

  constructor(
    readonly capacity: number,
    private readonly threshold = 2,
  ) {
    this.smallCapacity = Math.floor(capacity * 0.1);
    this.mainCapacity = capacity - this.smallCapacity;
    this.ghostCapacity = Math.floor(capacity * 0.9);
  }

  /** Requests `id`; returns true on a hit. */
  access(id: number): boolean {
    if (this.small.has(id) || this.main.has(id)) {
      this.freq.set(id, this.freq.get(id)! + 1);
      return true;
    }
    const fromGhost = this.ghost.delete(id);
    if (!fromGhost && this.smallCapacity <= 1) return false; // an object as large as the small queue is not admitted
    while (this.small.size + this.main.size + 1 > this.capacity) this.evict();
    (fromGhost ? this.main : this.small).push(id);
    this.freq.set(id, 0);
    return false;
  }

  private evict(): void {
    if (this.main.size > this.mainCapacity || this.small.size === 0) this.evictMain();
    else this.evictSmall();
  }

  private evictSmall(): void {
    while (this.small.size > 0) {
      const id = this.small.shift();
      if (this.freq.get(id)! >= this.threshold) {
        this.main.push(id);
        this.freq.set(id, 0);
        continue;
      }
      this.freq.delete(id);
      if (this.ghostCapacity > 0 && !this.ghost.has(id)) {
        if (this.ghost.size >= this.ghostCapacity) this.ghost.shift();
        this.ghost.push(id);
      }
      return;
    }
  }

  private evictMain(): void {
    while (this.main.size > 0) {
      const id = this.main.shift();
      const freq = this.freq.get(id)!;
      if (freq >= 1) {
        this.main.push(id);
        this.freq.set(id, Math.min(freq, 3) - 1);
        continue;
      }
      this.freq.delete(id);
      return;
    }
  }
}
