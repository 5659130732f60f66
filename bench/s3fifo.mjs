// An S3-FIFO cache simulator (Yang et al., SOSP'23), with libCacheSim's
// semantics as measured in shared/traces/REFERENCE.md: a small FIFO of 10% of
// the capacity that new objects enter, a main FIFO run as a Clock with 2-bit
// counters, and a ghost FIFO of 90% of the capacity holding evicted keys only.
// The small FIFO may use space the main FIFO has not filled yet; a small queue
// of one object admits nothing.

/** A FIFO of keys with removal anywhere (lazily: a removed key's queue entry is skipped). */
class KeyFifo {
  constructor() {
    this.queue = [];
    this.head = 0;
    this.live = new Map(); // key -> sequence number of its live queue entry
    this.sequence = 0;
  }
  get size() {
    return this.live.size;
  }
  has(key) {
    return this.live.has(key);
  }
  push(key) {
    this.live.set(key, ++this.sequence);
    this.queue.push(key, this.sequence);
  }
  delete(key) {
    return this.live.delete(key);
  }
  /** Removes and returns the oldest live key. */
  shift() {
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

export class S3FifoSimulator {
  constructor(capacity, moveToMainThreshold = 2) {
    this.capacity = capacity;
    this.smallCapacity = Math.floor(capacity * 0.1);
    this.mainCapacity = capacity - this.smallCapacity;
    this.ghostCapacity = Math.floor(capacity * 0.9);
    this.threshold = moveToMainThreshold;
    this.small = new KeyFifo();
    this.main = new KeyFifo();
    this.ghost = new KeyFifo();
    this.freq = new Map(); // key -> access count, for cached keys
  }

  /** Requests `id`; returns true on a hit. */
  access(id) {
    if (this.small.has(id) || this.main.has(id)) {
      this.freq.set(id, this.freq.get(id) + 1);
      return true;
    }
    const fromGhost = this.ghost.delete(id);
    if (!fromGhost && this.smallCapacity <= 1) return false; // an object as large as the small queue is not admitted
    while (this.small.size + this.main.size + 1 > this.capacity) this.evict();
    (fromGhost ? this.main : this.small).push(id);
    this.freq.set(id, 0);
    return false;
  }

  evict() {
    if (this.main.size > this.mainCapacity || this.small.size === 0) this.evictMain();
    else this.evictSmall();
  }

  evictSmall() {
    while (this.small.size > 0) {
      const id = this.small.shift();
      if (this.freq.get(id) >= this.threshold) {
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

  evictMain() {
    while (this.main.size > 0) {
      const id = this.main.shift();
      const freq = this.freq.get(id);
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
