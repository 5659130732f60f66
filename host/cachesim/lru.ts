// A least-recently-used cache simulator: the baseline every policy is compared with.
// A Map keeps insertion order, so a hit moves its key to the end and the first
// key is always the least recently used.
import type { CachePolicy } from './trace.js';

export class LruSimulator implements CachePolicy {
  private readonly entries = new Map<number, true>();

  constructor(readonly capacity: number) {}

  /** Requests `id`; returns true on a hit. A miss inserts it, evicting the least recently used. */
  access(id: number): boolean {
    if (this.entries.delete(id)) {
      this.entries.set(id, true);
      return true;
    }
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, true);
    return false;
  }
}
