// A least-recently-used cache simulator: the baseline every policy is compared with.
// A Map keeps insertion order, so a hit moves its key to the end and the first
// key is always the least recently used.
export class LruSimulator {
  constructor(capacity) {
    this.capacity = capacity;
    this.entries = new Map();
  }

  /** Requests `id`; returns true on a hit. A miss inserts it, evicting the least recently used. */
  access(id) {
    if (this.entries.delete(id)) {
      this.entries.set(id, true);
      return true;
    }
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value);
    this.entries.set(id, true);
    return false;
  }
}
